/**
 * Metrics of a binary risk score against 0/1 outcomes: AUROC, AUPRC (average precision), Brier
 * score, expected calibration error, and the ROC and reliability curves behind them.
 *
 * Pure functions over parallel arrays. Every function throws `MetricInputError` when the arrays
 * differ in length, are empty, or hold labels other than 0/1 or probabilities outside [0, 1];
 * AUROC and AUPRC return `NaN` when only one class is present (undefined, not zero).
 */

/** Bad input to a metric function. */
export class MetricInputError extends Error {
  override readonly name = 'MetricInputError';
}

function check(labels: ArrayLike<number>, scores: ArrayLike<number>, probabilities: boolean): void {
  if (labels.length !== scores.length) {
    throw new MetricInputError(`labels (${labels.length}) and scores (${scores.length}) differ in length`);
  }
  if (labels.length === 0) throw new MetricInputError('no samples');
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    const s = scores[i] as number;
    if (y !== 0 && y !== 1) throw new MetricInputError(`label ${i} is ${String(y)}, not 0 or 1`);
    if (!Number.isFinite(s)) throw new MetricInputError(`score ${i} is not finite`);
    if (probabilities && (s < 0 || s > 1)) throw new MetricInputError(`probability ${i} is outside [0, 1]`);
  }
}

/** Indices sorted by descending score (stable). */
function byScoreDescending(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number) || a - b,
  );
}

/** One point of a ROC or precision–recall sweep: the counts at a score threshold (score >= threshold). */
interface SweepPoint {
  threshold: number;
  truePositives: number;
  falsePositives: number;
}

/** Cumulative counts at each distinct score, from the highest score down (ties kept together). */
function sweep(labels: ArrayLike<number>, scores: ArrayLike<number>): SweepPoint[] {
  const order = byScoreDescending(scores);
  const points: SweepPoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    if (labels[i] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[i]) {
      points.push({ threshold: scores[i] as number, truePositives: tp, falsePositives: fp });
    }
  }
  return points;
}

function classCounts(labels: ArrayLike<number>): { positives: number; negatives: number } {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  return { positives, negatives: labels.length - positives };
}

/** A point on the ROC curve. */
export interface RocPoint {
  threshold: number;
  falsePositiveRate: number;
  truePositiveRate: number;
}

/** ROC curve from (0, 0) through every distinct score threshold to (1, 1). Empty if one class is absent. */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): RocPoint[] {
  check(labels, scores, false);
  const { positives, negatives } = classCounts(labels);
  if (positives === 0 || negatives === 0) return [];
  return [
    { threshold: Number.POSITIVE_INFINITY, falsePositiveRate: 0, truePositiveRate: 0 },
    ...sweep(labels, scores).map((p) => ({
      threshold: p.threshold,
      falsePositiveRate: p.falsePositives / negatives,
      truePositiveRate: p.truePositives / positives,
    })),
  ];
}

/**
 * Area under the ROC curve by the trapezoidal rule over distinct thresholds, which equals the
 * Mann–Whitney probability that a random positive outscores a random negative (ties count ½).
 */
export function auroc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const curve = rocCurve(labels, scores);
  if (curve.length === 0) return Number.NaN;
  let area = 0;
  for (let k = 1; k < curve.length; k++) {
    const a = curve[k - 1] as RocPoint;
    const b = curve[k] as RocPoint;
    area += ((b.falsePositiveRate - a.falsePositiveRate) * (a.truePositiveRate + b.truePositiveRate)) / 2;
  }
  return area;
}

/**
 * Area under the precision–recall curve as average precision: Σ (Rₙ − Rₙ₋₁) Pₙ over distinct
 * thresholds (no interpolation, the step-wise estimator scikit-learn uses).
 */
export function auprc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  check(labels, scores, false);
  const { positives, negatives } = classCounts(labels);
  if (positives === 0 || negatives === 0) return Number.NaN;
  let area = 0;
  let previousRecall = 0;
  for (const p of sweep(labels, scores)) {
    const recall = p.truePositives / positives;
    const precision = p.truePositives / (p.truePositives + p.falsePositives);
    area += (recall - previousRecall) * precision;
    previousRecall = recall;
  }
  return area;
}

/** Brier score: mean squared difference between probability and outcome (0 is perfect). */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  check(labels, probabilities, true);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += ((probabilities[i] as number) - (labels[i] as number)) ** 2;
  return sum / labels.length;
}

/** One bin of a reliability diagram. */
export interface CalibrationBin {
  /** Bin bounds: [lower, upper), the last bin closed at 1. */
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability in the bin (NaN when empty). */
  meanPredicted: number;
  /** Observed event rate in the bin (NaN when empty). */
  observedRate: number;
}

/** Reliability diagram over `bins` equal-width probability bins. */
export function calibrationBins(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  bins = 10,
): CalibrationBin[] {
  check(labels, probabilities, true);
  if (!Number.isInteger(bins) || bins < 1) throw new MetricInputError('bins must be a positive integer');
  const sums = Array.from({ length: bins }, () => ({ count: 0, predicted: 0, observed: 0 }));
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i] as number;
    const bin = sums[Math.min(bins - 1, Math.floor(p * bins))] as { count: number; predicted: number; observed: number };
    bin.count++;
    bin.predicted += p;
    bin.observed += labels[i] as number;
  }
  return sums.map((s, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: s.count,
    meanPredicted: s.count ? s.predicted / s.count : Number.NaN,
    observedRate: s.count ? s.observed / s.count : Number.NaN,
  }));
}

/**
 * Expected calibration error: Σ_b (n_b / n) · |observed rate_b − mean predicted_b| over
 * equal-width bins (Naeini et al. 2015; Guo et al. 2017 use the same 10-bin form).
 */
export function expectedCalibrationError(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  bins = 10,
): number {
  let ece = 0;
  for (const bin of calibrationBins(labels, probabilities, bins)) {
    if (bin.count > 0) ece += (bin.count / labels.length) * Math.abs(bin.observedRate - bin.meanPredicted);
  }
  return ece;
}

/** The four headline metrics of one outcome. */
export interface BinaryMetrics {
  n: number;
  positives: number;
  auroc: number;
  auprc: number;
  brier: number;
  ece: number;
}

/** All headline metrics at once. */
export function binaryMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>): BinaryMetrics {
  return {
    n: labels.length,
    positives: classCounts(labels).positives,
    auroc: auroc(labels, probabilities),
    auprc: auprc(labels, probabilities),
    brier: brierScore(labels, probabilities),
    ece: expectedCalibrationError(labels, probabilities),
  };
}
