import type { ModelManifest } from '../contracts/manifest-types.js';
import {
  percentileInterval,
  resampleWeights,
  seedOf,
  sortOutcome,
  weightedAuprc,
  weightedAuroc,
  weightedBrier,
  weightedEce,
  weightedRates,
  type SortedOutcome,
} from './bootstrap.js';
import type { EvaluationDataset } from './evaluation-dataset.js';

/** Patient-level bootstrap resamples per interval (issue 19 point 2). */
export const BOOTSTRAP_RESAMPLES = 2000;

/** A point estimate with its 95 % bootstrap percentile interval; `null` where undefined. */
export interface Estimate {
  value: number | null;
  lower: number | null;
  upper: number | null;
}

/** Sensitivity, specificity, PPV and NPV when "positive" means the risk band `code` or above. */
export interface BandRates {
  code: string;
  /** The band's lower probability bound in the manifest (`outcomes[].thresholds[].min`). */
  threshold: number;
  sensitivity: Estimate;
  specificity: Estimate;
  ppv: Estimate;
  npv: Estimate;
}

/** One outcome's headline metrics with intervals, and the rates at each risk band. */
export interface OutcomeStatistics {
  auroc: Estimate;
  auprc: Estimate;
  brier: Estimate;
  ece: Estimate;
  bands: BandRates[];
}

/** Paired bootstrap of fusion AUROC minus the best single-modality model's, on the same patients. */
export interface FusionDifference {
  bestSingleModality: string;
  fusionAuroc: number | null;
  singleAuroc: number | null;
  difference: Estimate;
  /** Two-sided bootstrap p-value for "no difference": 2·min(P(Δ* ≤ 0), P(Δ* ≥ 0)), at least 1/resamples. */
  pValue: number | null;
  /** Whether the 95 % interval of the difference lies wholly above zero. */
  fusionBetter: boolean;
}

/** What issue 19 point 2 adds to a model's report (`manifest.metrics.statistics`). */
export interface ModelStatistics {
  method: string;
  resamples: number;
  overall: Record<string, OutcomeStatistics>;
  /** ECE (10 bins) with interval per subgroup and outcome. */
  subgroupEce: Record<string, { n: number; byOutcome: Record<string, Estimate> }>;
  /** Fusion models: on the patients with all four modalities. */
  fusionVersusBestSingle?: { patients: number; byOutcome: Record<string, FusionDifference> };
}

function rounded(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : null;
}

function estimate(value: number, resampled: readonly number[]): Estimate {
  const ci = percentileInterval(resampled);
  return {
    value: rounded(value),
    lower: ci.lower === null ? null : rounded(ci.lower),
    upper: ci.upper === null ? null : rounded(ci.upper),
  };
}

function column(
  dataset: EvaluationDataset,
  rows: readonly number[],
  probabilities: Float32Array,
  outcomes: number,
  index: number,
): { labels: number[]; scores: number[] } {
  return {
    labels: rows.map((row) => dataset.labels[row * dataset.outcomes + index] ?? 0),
    scores: rows.map((_, r) => probabilities[r * outcomes + index] ?? 0),
  };
}

/** Several metrics of one weighted sample at once (one pass per family, not per metric). */
export type Metrics = (d: SortedOutcome, w: ArrayLike<number>) => number[];

/**
 * Point estimates (all weights 1) and bootstrap intervals of several metrics over the same
 * resamples ({@link BOOTSTRAP_RESAMPLES}, seeded from `label`); `fhir-fusion validate` uses it too.
 */
export function bootstrapMetrics(d: SortedOutcome, metrics: Metrics, label: string): Estimate[] {
  const n = d.labels.length;
  const point = metrics(d, new Uint8Array(n).fill(1));
  const samples = point.map(() => [] as number[]);
  for (const w of resampleWeights(n, BOOTSTRAP_RESAMPLES, seedOf(label))) {
    metrics(d, w).forEach((v, k) => samples[k]!.push(v));
  }
  return point.map((v, k) => estimate(v, samples[k]!));
}

/**
 * Bootstrap statistics of one model on its evaluated population: intervals for AUROC, AUPRC,
 * Brier and ECE; sensitivity/specificity/PPV/NPV at each risk-band threshold above 0 that the
 * manifest (and so the CDS card's band) uses; ECE per subgroup. Seeds derive from the model name,
 * outcome and statistic, so the figures are reproducible byte for byte.
 */
export function modelStatistics(
  modelName: string,
  manifest: ModelManifest,
  dataset: EvaluationDataset,
  rows: readonly number[],
  probabilities: Float32Array,
  subgroups: Record<string, readonly number[]>,
): ModelStatistics {
  const k = manifest.outcomes.length;
  const overall: Record<string, OutcomeStatistics> = {};
  const subgroupEce: ModelStatistics['subgroupEce'] = {};
  for (const o of manifest.outcomes) {
    const code = o.coding.code;
    const { labels, scores } = column(dataset, rows, probabilities, k, o.index);
    const d = sortOutcome(labels, scores);
    const bands = o.thresholds.filter((t) => t.min > 0);
    const [auroc, auprc, brier, ece, ...rates] = bootstrapMetrics(
      d,
      (s, w) => [
        weightedAuroc(s, w),
        weightedAuprc(s, w),
        weightedBrier(s, w),
        weightedEce(s, w),
        ...bands.flatMap((b) => {
          const r = weightedRates(s, w, b.min);
          return [r.sensitivity, r.specificity, r.ppv, r.npv];
        }),
      ],
      `${modelName}/${code}`,
    );
    overall[code] = {
      auroc: auroc!,
      auprc: auprc!,
      brier: brier!,
      ece: ece!,
      bands: bands.map((b, j) => ({
        code: b.code,
        threshold: b.min,
        sensitivity: rates[4 * j]!,
        specificity: rates[4 * j + 1]!,
        ppv: rates[4 * j + 2]!,
        npv: rates[4 * j + 3]!,
      })),
    };
    for (const [group, positions] of Object.entries(subgroups)) {
      const entry = (subgroupEce[group] ??= { n: positions.length, byOutcome: {} });
      const sub = sortOutcome(
        positions.map((p) => labels[p] ?? 0),
        positions.map((p) => scores[p] ?? 0),
      );
      entry.byOutcome[code] = bootstrapMetrics(
        sub,
        (s, w) => [weightedEce(s, w)],
        `${modelName}/${code}/${group}`,
      )[0]!;
    }
  }
  return {
    method: `${BOOTSTRAP_RESAMPLES} patient-level bootstrap resamples, 95 % percentile intervals, fixed seeds`,
    resamples: BOOTSTRAP_RESAMPLES,
    overall,
    subgroupEce,
  };
}

/**
 * Paired bootstrap of AUROC(fusion) − AUROC(single) on the same patients: each resample draws
 * patients once and scores both models on them, so the interval reflects the correlation between
 * the two models' errors (a paired test, as DeLong's is).
 */
export function pairedAurocDifference(
  label: string,
  labels: readonly number[],
  fusionScores: readonly number[],
  singleScores: readonly number[],
): { fusion: number; single: number; difference: Estimate; pValue: number | null } {
  const fusion = sortOutcome(labels, fusionScores);
  const single = sortOutcome(labels, singleScores);
  const ones = new Uint8Array(labels.length).fill(1);
  const f = weightedAuroc(fusion, ones);
  const s = weightedAuroc(single, ones);
  const differences: number[] = [];
  let atOrBelow = 0;
  let atOrAbove = 0;
  for (const w of resampleWeights(labels.length, BOOTSTRAP_RESAMPLES, seedOf(label))) {
    const delta = weightedAuroc(fusion, w) - weightedAuroc(single, w);
    if (!Number.isFinite(delta)) continue;
    differences.push(delta);
    if (delta <= 0) atOrBelow++;
    if (delta >= 0) atOrAbove++;
  }
  const pValue = differences.length
    ? Math.min(1, Math.max(1 / differences.length, (2 * Math.min(atOrBelow, atOrAbove)) / differences.length))
    : null;
  return {
    fusion: f,
    single: s,
    difference: estimate(f - s, differences),
    pValue: pValue === null ? null : rounded(pValue),
  };
}

/**
 * Fusion against its best single-modality model per outcome (best by AUROC on the same
 * all-modalities-present patients), with paired bootstrap intervals and p-values.
 */
export function fusionVersusBestSingle(
  fusionName: string,
  manifest: ModelManifest,
  dataset: EvaluationDataset,
  rows: readonly number[],
  fusion: Float32Array,
  singles: Record<string, { manifest: ModelManifest; probabilities: Float32Array }>,
  bestByOutcome: Record<string, { model: string }>,
): NonNullable<ModelStatistics['fusionVersusBestSingle']> {
  const k = manifest.outcomes.length;
  const byOutcome: Record<string, FusionDifference> = {};
  for (const o of manifest.outcomes) {
    const code = o.coding.code;
    const best = bestByOutcome[code]?.model;
    const single = best ? singles[best] : undefined;
    const singleOutcome = single?.manifest.outcomes.find((x) => x.coding.code === code);
    if (!best || !single || !singleOutcome) continue;
    const a = column(dataset, rows, fusion, k, o.index);
    const b = column(
      dataset,
      rows,
      single.probabilities,
      single.manifest.outcomes.length,
      singleOutcome.index,
    );
    const r = pairedAurocDifference(`${fusionName}-${best}/${code}`, a.labels, a.scores, b.scores);
    byOutcome[code] = {
      bestSingleModality: best,
      fusionAuroc: rounded(r.fusion),
      singleAuroc: rounded(r.single),
      difference: r.difference,
      pValue: r.pValue,
      fusionBetter: r.difference.lower !== null && r.difference.lower > 0,
    };
  }
  return { patients: rows.length, byOutcome };
}
