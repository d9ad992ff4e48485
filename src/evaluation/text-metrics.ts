/**
 * Text-overlap metrics of generated descriptions against one reference each: corpus BLEU-4
 * (Papineni et al., ACL 2002) and ROUGE-L (Lin, ACL 2004 workshop "ROUGE"). Both compare
 * lower-cased word tokens (punctuation dropped), so they measure wording, not clinical correctness.
 */

/** Lower-cased word tokens of a text (letters and digits; punctuation dropped). */
export function metricTokens(text: string): string[] {
  return [...text.toLowerCase().matchAll(/[a-z0-9]+/g)].map((m) => m[0]);
}

/** Per-document BLEU statistics; corpus BLEU sums them over documents (so resampling is a weighted sum). */
export interface BleuStats {
  /** Clipped n-gram matches for n = 1..4. */
  matches: [number, number, number, number];
  /** Candidate n-gram counts for n = 1..4. */
  totals: [number, number, number, number];
  candidateLength: number;
  referenceLength: number;
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** BLEU statistics of one candidate against one reference (n-gram counts clipped by the reference's). */
export function bleuStats(candidate: readonly string[], reference: readonly string[]): BleuStats {
  const matches: BleuStats['matches'] = [0, 0, 0, 0];
  const totals: BleuStats['totals'] = [0, 0, 0, 0];
  for (let n = 1; n <= 4; n++) {
    const ref = ngramCounts(reference, n);
    for (const [gram, count] of ngramCounts(candidate, n)) {
      matches[n - 1]! += Math.min(count, ref.get(gram) ?? 0);
      totals[n - 1]! += count;
    }
  }
  return { matches, totals, candidateLength: candidate.length, referenceLength: reference.length };
}

/**
 * Corpus BLEU-4 from per-document statistics, each weighted (1 for the plain corpus score; the
 * bootstrap's draw counts for a resample): geometric mean of the four modified n-gram precisions
 * times the brevity penalty `exp(1 - r/c)` when the candidates are shorter than the references.
 * 0 when any precision is 0 (no smoothing, as in the original definition).
 */
export function corpusBleu(stats: readonly BleuStats[], weights?: ArrayLike<number>): number {
  const m = [0, 0, 0, 0];
  const t = [0, 0, 0, 0];
  let c = 0;
  let r = 0;
  stats.forEach((s, i) => {
    const w = weights ? weights[i]! : 1;
    if (w === 0) return;
    for (let n = 0; n < 4; n++) {
      m[n]! += w * s.matches[n]!;
      t[n]! += w * s.totals[n]!;
    }
    c += w * s.candidateLength;
    r += w * s.referenceLength;
  });
  if (c === 0 || m.some((x) => x === 0)) return 0;
  const logPrecision = m.reduce((sum, x, n) => sum + Math.log(x / t[n]!), 0) / 4;
  const brevity = c >= r ? 1 : Math.exp(1 - r / c);
  return brevity * Math.exp(logPrecision);
}

/** Length of the longest common subsequence of two token lists (dynamic programming, O(n·m)). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++)
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!);
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * ROUGE-L of one candidate against one reference: the F-measure of LCS recall (LCS / reference
 * length) and LCS precision (LCS / candidate length) with β = 1 (the harmonic mean). 0 when either
 * text is empty.
 */
export function rougeL(candidate: readonly string[], reference: readonly string[]): number {
  if (candidate.length === 0 || reference.length === 0) return 0;
  const lcs = lcsLength(candidate, reference);
  if (lcs === 0) return 0;
  const precision = lcs / candidate.length;
  const recall = lcs / reference.length;
  return (2 * precision * recall) / (precision + recall);
}
