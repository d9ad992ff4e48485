import {
  RADIOGRAPH_FINDINGS,
  radiographFindings,
  type RadiographFinding,
} from '../preprocess/text/radiograph-findings.js';
import { percentileInterval, resampleWeights, seedOf, type Interval } from './bootstrap.js';
import { bleuStats, corpusBleu, metricTokens, rougeL } from './text-metrics.js';

/** A figure with its 95 % bootstrap percentile interval. */
export interface Estimate {
  value: number | null;
  ci: Interval;
}

/** Precision, recall and F1 of one finding, generated text vs reference text. */
export interface FindingScores {
  /** Reference texts asserting the finding. */
  positives: number;
  precision: Estimate;
  recall: Estimate;
  f1: Estimate;
}

/** Every figure of one system (the model or the baseline) on one test set. */
export interface DraftingScores {
  n: number;
  bleu4: Estimate;
  rougeL: Estimate;
  /** Micro-averaged F1 over the main findings ({@link MAIN_FINDINGS}). */
  findingF1: Estimate;
  perFinding: Partial<Record<RadiographFinding, FindingScores>>;
  /** Studies whose reference asserts none of the findings. */
  normals: number;
  /** Share of those whose generated text asserts none either (no hallucinated finding). */
  normalsClean: Estimate;
  /**
   * Studies normal by the report *and* by the image's ground truth (no lesion region recorded by
   * the generator), when the image truth is known: a report can miss a lesion the film shows, and
   * a draft that names it is not hallucinating.
   */
  imageNormals?: number;
  /** Share of those whose generated text asserts no finding. */
  imageNormalsClean?: Estimate;
  /** Drafts cut at the token or character cap. */
  truncated: number;
}

/** The findings the headline F1 averages over (what the cohort's radiographs draw). */
export const MAIN_FINDINGS: readonly RadiographFinding[] = [
  'cardiomegaly',
  'effusion',
  'consolidation',
  'oedema',
];

/** Bootstrap resamples for every interval (seeded per system, test set and figure). */
const RESAMPLES = 1000;

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

function prf({ tp, fp, fn }: Counts): { precision: number | null; recall: number | null; f1: number | null } {
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = tp + fn > 0 ? tp / (tp + fn) : null;
  const f1 = tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : null;
  return { precision, recall, f1 };
}

/**
 * Scores generated descriptions against their references: corpus BLEU-4 and mean ROUGE-L on words;
 * clinical correctness by running the project's negation-aware finding extraction
 * (`radiographFindings`) on both texts and counting, per finding, generated-and-reference (TP),
 * generated-only (FP) and reference-only (FN); and the share of normal studies (reference asserts
 * no finding) whose draft asserts none. Every figure has a seeded bootstrap 95 % interval over
 * studies (`bootstrap.ts`), so the same inputs give the same card.
 */
export function scoreDrafts(
  pairs: ReadonlyArray<{
    generated: string;
    reference: string;
    truncated?: boolean;
    /** The findings the image shows by the generator's ground truth, when known. */
    imageFindings?: ReadonlySet<RadiographFinding>;
  }>,
  label: string,
): DraftingScores {
  const n = pairs.length;
  const stats = pairs.map((p) => bleuStats(metricTokens(p.generated), metricTokens(p.reference)));
  const rouge = pairs.map((p) => rougeL(metricTokens(p.generated), metricTokens(p.reference)));
  const gen = pairs.map((p) => radiographFindings(p.generated));
  const ref = pairs.map((p) => radiographFindings(p.reference));
  const normal = ref.map((r) => RADIOGRAPH_FINDINGS.every((f) => !r.has(f)));
  const clean = gen.map((g) => RADIOGRAPH_FINDINGS.every((f) => !g.has(f)));
  const imageKnown = pairs.some((p) => p.imageFindings !== undefined);
  const imageNormal = pairs.map(
    (p, i) => normal[i]! && p.imageFindings !== undefined && p.imageFindings.size === 0,
  );

  const counts = (findings: readonly RadiographFinding[], w?: ArrayLike<number>): Counts => {
    const c = { tp: 0, fp: 0, fn: 0 };
    for (let i = 0; i < n; i++) {
      const weight = w ? w[i]! : 1;
      if (weight === 0) continue;
      for (const f of findings) {
        const g = gen[i]!.has(f);
        const r = ref[i]!.has(f);
        if (g && r) c.tp += weight;
        else if (g) c.fp += weight;
        else if (r) c.fn += weight;
      }
    }
    return c;
  };
  const meanOf = (values: readonly number[], w?: ArrayLike<number>): number | null => {
    let sum = 0;
    let total = 0;
    values.forEach((v, i) => {
      const weight = w ? w[i]! : 1;
      sum += weight * v;
      total += weight;
    });
    return total > 0 ? sum / total : null;
  };
  const cleanAmong =
    (among: readonly boolean[]) =>
    (w?: ArrayLike<number>): number | null =>
      meanOf(
        clean.map((c) => (c ? 1 : 0)),
        Array.from({ length: n }, (_, i) => (among[i] ? (w ? w[i]! : 1) : 0)),
      );
  const normalsClean = cleanAmong(normal);

  // Every statistic as a function of the study weights: 1s for the point estimate, draw counts per resample.
  const statistics: Record<string, (w?: ArrayLike<number>) => number | null> = {
    bleu4: (w) => corpusBleu(stats, w),
    rougeL: (w) => meanOf(rouge, w),
    findingF1: (w) => prf(counts(MAIN_FINDINGS, w)).f1,
    normalsClean,
    imageNormalsClean: cleanAmong(imageNormal),
  };
  for (const f of RADIOGRAPH_FINDINGS) {
    statistics[`${f}.precision`] = (w) => prf(counts([f], w)).precision;
    statistics[`${f}.recall`] = (w) => prf(counts([f], w)).recall;
    statistics[`${f}.f1`] = (w) => prf(counts([f], w)).f1;
  }
  const estimate = (name: string): Estimate => {
    const compute = statistics[name]!;
    const values: number[] = [];
    for (const w of resampleWeights(n, RESAMPLES, seedOf(`${label}/${name}`)))
      values.push(compute(w) ?? Number.NaN);
    return { value: compute(), ci: percentileInterval(values) };
  };
  const perFinding: DraftingScores['perFinding'] = {};
  for (const f of RADIOGRAPH_FINDINGS) {
    const positives = ref.filter((r) => r.has(f)).length;
    if (positives === 0) continue;
    perFinding[f] = {
      positives,
      precision: estimate(`${f}.precision`),
      recall: estimate(`${f}.recall`),
      f1: estimate(`${f}.f1`),
    };
  }
  return {
    n,
    bleu4: estimate('bleu4'),
    rougeL: estimate('rougeL'),
    findingF1: estimate('findingF1'),
    perFinding,
    normals: normal.filter(Boolean).length,
    normalsClean: estimate('normalsClean'),
    ...(imageKnown
      ? { imageNormals: imageNormal.filter(Boolean).length, imageNormalsClean: estimate('imageNormalsClean') }
      : {}),
    truncated: pairs.filter((p) => p.truncated).length,
  };
}
