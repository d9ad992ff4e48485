import type { ModalityName, ModelManifest, OodDetector } from '../contracts/manifest-types.js';
import {
  oodScore,
  oodStatisticNames,
  oodStatistics,
  type ModalityArrays,
} from '../preprocess/ood/out-of-distribution.js';
import type { EvaluationDataset } from './evaluation-dataset.js';
import { buildFeeds, modalityOfRole } from './model-feeds.js';

/** Ridge added to the covariance of the standardised statistics, so that a near-constant or collinear statistic cannot make the precision explode. */
const RIDGE = 0.01;
/** Smallest standard deviation a statistic is divided by. */
const MIN_SCALE = 1e-3;

/**
 * The arrays of `modality` that `manifest`'s model is fed for each of `rows`, exactly as the
 * evaluation feeds the model (the manifest's normalisation applied by `buildFeeds`), one
 * {@link ModalityArrays} per row.
 */
export function* modalityArraysOf(
  manifest: ModelManifest,
  modality: ModalityName,
  dataset: EvaluationDataset,
  rows: readonly number[],
  batchSize = 128,
): Generator<ModalityArrays> {
  // Only this modality's inputs: building a fusion model's every tensor per row would be wasted work.
  const own = { ...manifest, inputs: manifest.inputs.filter((i) => modalityOfRole(i.role) === modality) };
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const feeds = buildFeeds(own, dataset, batch);
    for (let r = 0; r < batch.length; r++) {
      const arrays: ModalityArrays = {};
      for (const input of own.inputs) {
        const feed = feeds[input.name];
        if (!feed) continue;
        const size = feed.dims.slice(1).reduce((a, b) => a * b, 1);
        arrays[input.role] = feed.data.slice(r * size, (r + 1) * size);
      }
      yield arrays;
    }
  }
}

/** Rows of the dataset where `modality` is present. */
export function rowsWithModality(
  dataset: EvaluationDataset,
  modality: ModalityName,
  order: readonly ModalityName[],
): number[] {
  const column = order.indexOf(modality);
  const rows: number[] = [];
  for (let row = 0; row < dataset.size; row++)
    if ((dataset.modalityMask[row * 4 + column] ?? 0) > 0) rows.push(row);
  return rows;
}

/** Inverse of a symmetric positive-definite matrix by Gauss–Jordan elimination with partial pivoting. */
export function invert(matrix: readonly (readonly number[])[]): number[][] {
  const n = matrix.length;
  const a = matrix.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    if (Math.abs(p) < 1e-12) throw new Error('covariance is singular');
    for (let j = 0; j < 2 * n; j++) a[col]![j]! /= p;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r]![col]!;
      if (f !== 0) for (let j = 0; j < 2 * n; j++) a[r]![j]! -= f * a[col]![j]!;
    }
  }
  return a.map((row) => row.slice(n));
}

/** Centre, scale and precision of summary statistics (one row per patient). */
export function fitMahalanobis(samples: readonly (readonly number[])[]): {
  center: number[];
  scale: number[];
  precision: number[][];
} {
  const n = samples.length;
  const d = samples[0]?.length ?? 0;
  if (n < 2 || d === 0) throw new Error(`cannot fit a detector on ${n} patients`);
  const center = Array.from({ length: d }, (_, j) => samples.reduce((s, x) => s + (x[j] ?? 0), 0) / n);
  const scale = center.map((m, j) =>
    Math.max(MIN_SCALE, Math.sqrt(samples.reduce((s, x) => s + ((x[j] ?? 0) - m) ** 2, 0) / (n - 1))),
  );
  const z = samples.map((x) => x.map((v, j) => (v - (center[j] ?? 0)) / (scale[j] ?? 1)));
  const cov = Array.from({ length: d }, (_, i) =>
    Array.from(
      { length: d },
      (_, j) => z.reduce((s, x) => s + (x[i] ?? 0) * (x[j] ?? 0), 0) / (n - 1) + (i === j ? RIDGE : 0),
    ),
  );
  return { center, scale, precision: invert(cov) };
}

/**
 * The (1 − rate) quantile of held-out scores, as the order statistic such that at most `rate` of
 * them lie strictly above it: flagging `score > threshold` then raises at most that share of
 * false alarms on the calibration patients. NaN scores count as above every threshold.
 */
export function falseAlarmThreshold(scores: readonly number[], rate: number): number {
  const sorted = scores.map((s) => (Number.isFinite(s) ? s : Number.POSITIVE_INFINITY)).sort((a, b) => a - b);
  if (sorted.length === 0) throw new Error('no held-out scores to calibrate on');
  const index = Math.max(0, Math.ceil((1 - rate) * sorted.length) - 1);
  const threshold = sorted[index] ?? 0;
  if (!Number.isFinite(threshold))
    throw new Error('more than the target share of held-out scores are not numbers');
  return threshold;
}

/** Per tabular feature, the smallest and largest z-score among the reference patients that have it (0, 0 when none has). */
export function fitRange(
  manifest: ModelManifest,
  dataset: EvaluationDataset,
  rows: readonly number[],
): { low: number[]; high: number[] } {
  const width = manifest.preprocessing.tabular?.features.length ?? 0;
  const low = new Array<number>(width).fill(Number.POSITIVE_INFINITY);
  const high = new Array<number>(width).fill(Number.NEGATIVE_INFINITY);
  for (const arrays of modalityArraysOf(manifest, 'tabular', dataset, rows)) {
    const values = arrays['tabular-values'];
    const mask = arrays['tabular-mask'];
    if (!(values instanceof Float32Array) || !(mask instanceof Float32Array)) continue;
    for (let j = 0; j < width; j++) {
      if ((mask[j] ?? 0) <= 0) continue;
      low[j] = Math.min(low[j] ?? 0, values[j] ?? 0);
      high[j] = Math.max(high[j] ?? 0, values[j] ?? 0);
    }
  }
  return {
    low: low.map((v) => (Number.isFinite(v) ? v : 0)),
    high: high.map((v) => (Number.isFinite(v) ? v : 0)),
  };
}

/**
 * Fit a detector for one modality of one model: statistics' centre and covariance on `reference`
 * (the training split), threshold on `heldOut` (the validation split) at `rate` false alarms.
 */
export function fitDetector(
  manifest: ModelManifest,
  modality: ModalityName,
  reference: { dataset: EvaluationDataset; rows: readonly number[] },
  heldOut: { dataset: EvaluationDataset; rows: readonly number[] },
  rate: number,
): OodDetector {
  if (modality === 'tabular') {
    const unthresholded: OodDetector = {
      method: 'tabular-range',
      ...fitRange(manifest, reference.dataset, reference.rows),
      threshold: Number.POSITIVE_INFINITY,
    };
    return {
      ...unthresholded,
      threshold: falseAlarmThreshold(
        scoresOf(manifest, modality, unthresholded, heldOut.dataset, heldOut.rows),
        rate,
      ),
    };
  }
  const statistics = [...(oodStatisticNames(manifest, modality) ?? [])];
  const samples: number[][] = [];
  for (const arrays of modalityArraysOf(manifest, modality, reference.dataset, reference.rows)) {
    const values = oodStatistics(manifest, modality, arrays);
    if (values) samples.push(values);
  }
  const fitted = fitMahalanobis(samples);
  const unthresholded: OodDetector = {
    method: 'summary-mahalanobis',
    statistics,
    ...fitted,
    threshold: Number.POSITIVE_INFINITY,
  };
  const heldOutScores = scoresOf(manifest, modality, unthresholded, heldOut.dataset, heldOut.rows);
  return { ...unthresholded, threshold: falseAlarmThreshold(heldOutScores, rate) };
}

/** The detector's score for each of `rows` (NaN where it cannot be computed). */
export function scoresOf(
  manifest: ModelManifest,
  modality: ModalityName,
  detector: OodDetector,
  dataset: EvaluationDataset,
  rows: readonly number[],
): number[] {
  const scores: number[] = [];
  for (const arrays of modalityArraysOf(manifest, modality, dataset, rows)) {
    const score = oodScore(manifest, modality, detector, arrays);
    scores.push(score.ok ? score.value : Number.NaN);
  }
  return scores;
}
