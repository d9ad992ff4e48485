import { percentileInterval, resampleWeights, seedOf, type Interval } from './bootstrap.js';
import { BOOTSTRAP_RESAMPLES } from './model-statistics.js';

/** Recall@k: the share of queries whose own pair ranks within the first k candidates. */
export interface RecallAtK {
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
}

/**
 * What each held-out query contributed, so every figure is a (weighted) mean over queries and can
 * be bootstrapped, and two encoders evaluated on the same queries can be compared pairwise.
 */
export interface PerQueryRetrieval {
  /** Rank (0 = first) of query i's own report among all reports, by its ECG's embedding. */
  ecgToReportRank: Int32Array;
  /** Rank of query i's own ECG among all ECGs, by its report's embedding. */
  reportToEcgRank: Int32Array;
  /** Share of query i's 5 nearest other ECGs whose latent conditions all equal its own. */
  top5Match: Float64Array;
}

/** The figures reported per encoder, in the order they are printed. */
export const RETRIEVAL_METRICS = [
  'ecgToReport.recallAt1',
  'ecgToReport.recallAt5',
  'ecgToReport.recallAt10',
  'reportToEcg.recallAt1',
  'reportToEcg.recallAt5',
  'reportToEcg.recallAt10',
  'top5ConditionMatch',
] as const;

/** One of {@link RETRIEVAL_METRICS}. */
export type RetrievalMetric = (typeof RETRIEVAL_METRICS)[number];

/**
 * Rank of candidate `i` for query `i` (0 = first) under similarity `sim(i, j)`: the number of other
 * candidates scoring strictly higher, as `models/training/train_clip.py` counts it.
 */
export function pairRanks(n: number, sim: (i: number, j: number) => number): Int32Array {
  const ranks = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const own = sim(i, i);
    let rank = 0;
    for (let j = 0; j < n; j++) if (j !== i && sim(i, j) > own) rank++;
    ranks[i] = rank;
  }
  return ranks;
}

/** Recall@1/5/10 from ranks, each query weighted by `weights` (all 1 when omitted). */
export function recallFromRanks(ranks: Int32Array, weights?: ArrayLike<number>): RecallAtK {
  const hits = [0, 0, 0];
  let total = 0;
  for (let i = 0; i < ranks.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    total += w;
    [1, 5, 10].forEach((k, x) => {
      if ((ranks[i] as number) < k) hits[x]! += w;
    });
  }
  return { recallAt1: hits[0]! / total, recallAt5: hits[1]! / total, recallAt10: hits[2]! / total };
}

/** Every {@link RETRIEVAL_METRICS} figure of one (weighted) set of queries. */
export function retrievalFigures(
  q: PerQueryRetrieval,
  weights?: ArrayLike<number>,
): Record<RetrievalMetric, number> {
  const e = recallFromRanks(q.ecgToReportRank, weights);
  const r = recallFromRanks(q.reportToEcgRank, weights);
  let match = 0;
  let total = 0;
  for (let i = 0; i < q.top5Match.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    match += w * (q.top5Match[i] as number);
    total += w;
  }
  return {
    'ecgToReport.recallAt1': e.recallAt1,
    'ecgToReport.recallAt5': e.recallAt5,
    'ecgToReport.recallAt10': e.recallAt10,
    'reportToEcg.recallAt1': r.recallAt1,
    'reportToEcg.recallAt5': r.recallAt5,
    'reportToEcg.recallAt10': r.recallAt10,
    top5ConditionMatch: match / total,
  };
}

/** Seed of the retrieval bootstrap: one for every encoder, so their resamples are the same patients. */
const RETRIEVAL_SEED = seedOf('retrieval/test');

/**
 * 95 % percentile intervals of every figure from {@link BOOTSTRAP_RESAMPLES} query-level resamples
 * (the project's seeded bootstrap, `bootstrap.ts`). The candidate set stays all held-out patients:
 * the interval is over which patients ask, not over which could be found.
 */
export function retrievalIntervals(
  q: PerQueryRetrieval,
  resamples = BOOTSTRAP_RESAMPLES,
): Record<RetrievalMetric, Interval> {
  return intervalsOf(q.ecgToReportRank.length, resamples, (w) => retrievalFigures(q, w));
}

/**
 * Paired bootstrap of `b − a` for two encoders evaluated on the same queries in the same order:
 * each resample draws the same patients for both, so the interval reflects the difference, not the
 * two models' separate noise. An interval wholly above zero says `b` retrieves better.
 */
export function pairedRetrievalDifference(
  a: PerQueryRetrieval,
  b: PerQueryRetrieval,
  resamples = BOOTSTRAP_RESAMPLES,
): Record<RetrievalMetric, { difference: number; lower: number | null; upper: number | null }> {
  const n = a.ecgToReportRank.length;
  if (b.ecgToReportRank.length !== n)
    throw new RangeError(`paired comparison needs the same queries (${n} vs ${b.ecgToReportRank.length})`);
  const diff = (w?: ArrayLike<number>) => {
    const fa = retrievalFigures(a, w);
    const fb = retrievalFigures(b, w);
    return Object.fromEntries(RETRIEVAL_METRICS.map((m) => [m, fb[m] - fa[m]])) as Record<
      RetrievalMetric,
      number
    >;
  };
  const point = diff();
  const intervals = intervalsOf(n, resamples, diff);
  return Object.fromEntries(
    RETRIEVAL_METRICS.map((m) => [m, { difference: point[m], ...intervals[m] }]),
  ) as Record<RetrievalMetric, { difference: number; lower: number | null; upper: number | null }>;
}

function intervalsOf(
  n: number,
  resamples: number,
  figures: (w: ArrayLike<number>) => Record<RetrievalMetric, number>,
): Record<RetrievalMetric, Interval> {
  const samples = Object.fromEntries(RETRIEVAL_METRICS.map((m) => [m, [] as number[]])) as Record<
    RetrievalMetric,
    number[]
  >;
  for (const w of resampleWeights(n, resamples, RETRIEVAL_SEED)) {
    const f = figures(w);
    for (const m of RETRIEVAL_METRICS) samples[m].push(f[m]);
  }
  return Object.fromEntries(RETRIEVAL_METRICS.map((m) => [m, percentileInterval(samples[m])])) as Record<
    RetrievalMetric,
    Interval
  >;
}
