import type { ModelManifest } from '../contracts/manifest-types.js';
import { binaryMetrics } from './binary-metrics.js';
import type { EvaluationDataset } from './evaluation-dataset.js';

/** Metrics of one outcome, JSON-safe: `null` where a metric is undefined (one class only). */
export interface OutcomeMetrics {
  n: number;
  positives: number;
  auroc: number | null;
  auprc: number | null;
  brier: number | null;
  ece: number | null;
}

/** Metrics keyed by outcome code (`manifest.outcomes[i].coding.code`). */
export type MetricsByOutcome = Record<string, OutcomeMetrics>;

function rounded(x: number): number | null {
  return Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : null;
}

/**
 * Per-outcome metrics of `probabilities` (row-major [rows.length, outcomes], aligned with `rows`)
 * against the dataset's labels. Returns an empty object when `rows` is empty.
 */
export function outcomeMetrics(
  manifest: ModelManifest,
  dataset: EvaluationDataset,
  rows: readonly number[],
  probabilities: Float32Array,
): MetricsByOutcome {
  const out: MetricsByOutcome = {};
  if (rows.length === 0) return out;
  const k = manifest.outcomes.length;
  for (const outcome of manifest.outcomes) {
    const labels = rows.map((row) => dataset.labels[row * dataset.outcomes + outcome.index] ?? Number.NaN);
    const scores = rows.map((_, r) => probabilities[r * k + outcome.index] ?? Number.NaN);
    const m = binaryMetrics(labels, scores);
    out[outcome.coding.code] = {
      n: m.n,
      positives: m.positives,
      auroc: rounded(m.auroc),
      auprc: rounded(m.auprc),
      brier: rounded(m.brier),
      ece: rounded(m.ece),
    };
  }
  return out;
}

/** Age bands used for subgroup reporting (years, lower bound inclusive). */
export const AGE_BANDS: ReadonlyArray<{ label: string; min: number; max: number }> = [
  { label: '18-49', min: 0, max: 50 },
  { label: '50-64', min: 50, max: 65 },
  { label: '65-79', min: 65, max: 80 },
  { label: '80+', min: 80, max: Number.POSITIVE_INFINITY },
];

/** Positions within `rows` of each subgroup: `sex:female`, `sex:male`, `age:<band>`. */
export function subgroupPositions(dataset: EvaluationDataset, rows: readonly number[]): Record<string, number[]> {
  const groups: Record<string, number[]> = { 'sex:female': [], 'sex:male': [] };
  for (const band of AGE_BANDS) groups[`age:${band.label}`] = [];
  rows.forEach((row, position) => {
    groups[(dataset.sexFemale[row] ?? 0) > 0.5 ? 'sex:female' : 'sex:male']?.push(position);
    const age = dataset.ageYears[row] ?? Number.NaN;
    const band = AGE_BANDS.find((b) => age >= b.min && age < b.max);
    if (band) groups[`age:${band.label}`]?.push(position);
  });
  return groups;
}

/** The rows at `positions` and their probabilities, for computing metrics on a subset. */
export function selectPositions(
  rows: readonly number[],
  probabilities: Float32Array,
  outcomes: number,
  positions: readonly number[],
): { rows: number[]; probabilities: Float32Array } {
  const out = new Float32Array(positions.length * outcomes);
  positions.forEach((p, i) => out.set(probabilities.subarray(p * outcomes, (p + 1) * outcomes), i * outcomes));
  return { rows: positions.map((p) => rows[p] as number), probabilities: out };
}
