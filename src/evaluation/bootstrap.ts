/**
 * Seeded, deterministic bootstrap (Efron & Tibshirani 1993, percentile interval) over per-patient
 * weights: a resample is a vector of how often each patient was drawn, so every metric is a
 * weighted O(n) pass over data sorted once, and 2,000 resamples of 1,000 patients take
 * milliseconds. Same seed, same data → the same intervals, so model cards reproduce byte for byte.
 */

/** mulberry32: a small, fast 32-bit PRNG; deterministic across platforms (integer arithmetic only). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a hash of a label, so each (model, outcome, statistic) gets its own fixed seed. */
export function seedOf(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Resample weights: `resamples` vectors of draw counts over `n` patients (each sums to n). One buffer is reused: copy a vector to keep it. */
export function* resampleWeights(n: number, resamples: number, seed: number): Generator<Uint32Array> {
  const random = mulberry32(seed);
  const weights = new Uint32Array(n);
  for (let b = 0; b < resamples; b++) {
    weights.fill(0);
    for (let i = 0; i < n; i++) weights[Math.floor(random() * n)]! += 1;
    yield weights;
  }
}

/** Quantile with linear interpolation between order statistics (Hyndman & Fan type 7, R's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return (sorted[lo] as number) + (h - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/** A 95 % percentile interval; `null` bounds when too few resamples gave a defined value. */
export interface Interval {
  lower: number | null;
  upper: number | null;
}

/** 2.5 % and 97.5 % quantiles of the finite values (undefined resamples, e.g. one class only, are dropped). */
export function percentileInterval(values: readonly number[]): Interval {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length < 20) return { lower: null, upper: null };
  return { lower: quantile(finite, 0.025), upper: quantile(finite, 0.975) };
}

/**
 * Labels and scores of one outcome, sorted by score once, with tie groups, so weighted AUROC,
 * AUPRC, Brier and ECE are single passes.
 */
export interface SortedOutcome {
  labels: Uint8Array;
  scores: Float64Array;
  /** Patient indices in ascending score order. */
  order: Uint32Array;
  /** Start offsets in `order` of each group of equal scores, plus `n` at the end. */
  groupStarts: number[];
  /** 10-bin calibration bin of each patient (the binning of binary-metrics.ts calibrationBins). */
  bins: Uint8Array;
}

/** Prepares one outcome's data for weighted metrics. */
export function sortOutcome(labels: ArrayLike<number>, scores: ArrayLike<number>): SortedOutcome {
  const n = labels.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  const groupStarts: number[] = [];
  for (let k = 0; k < n; k++) {
    if (k === 0 || scores[order[k] as number] !== scores[order[k - 1] as number]) groupStarts.push(k);
  }
  groupStarts.push(n);
  return {
    labels: Uint8Array.from({ length: n }, (_, i) => (labels[i] === 1 ? 1 : 0)),
    scores: Float64Array.from({ length: n }, (_, i) => scores[i] as number),
    order,
    groupStarts,
    bins: Uint8Array.from({ length: n }, (_, i) => Math.min(9, Math.floor((scores[i] as number) * 10))),
  };
}

type Weights = ArrayLike<number>;

/** Weighted AUROC (Mann–Whitney, ties ½): equals binary-metrics.ts `auroc` when all weights are 1. */
export function weightedAuroc(d: SortedOutcome, w: Weights): number {
  let below = 0;
  let u = 0;
  let positives = 0;
  for (let g = 0; g + 1 < d.groupStarts.length; g++) {
    let pos = 0;
    let neg = 0;
    for (let k = d.groupStarts[g] as number; k < (d.groupStarts[g + 1] as number); k++) {
      const i = d.order[k] as number;
      const wi = w[i] as number;
      if (d.labels[i]) pos += wi;
      else neg += wi;
    }
    u += pos * (below + neg / 2);
    below += neg;
    positives += pos;
  }
  return positives > 0 && below > 0 ? u / (positives * below) : Number.NaN;
}

/** Weighted average precision (step-wise, no interpolation), as binary-metrics.ts `auprc`. */
export function weightedAuprc(d: SortedOutcome, w: Weights): number {
  let positives = 0;
  let total = 0;
  for (let i = 0; i < d.labels.length; i++) {
    positives += d.labels[i] ? (w[i] as number) : 0;
    total += w[i] as number;
  }
  if (positives === 0 || positives === total) return Number.NaN;
  let tp = 0;
  let fp = 0;
  let area = 0;
  let previousRecall = 0;
  for (let g = d.groupStarts.length - 2; g >= 0; g--) {
    for (let k = d.groupStarts[g] as number; k < (d.groupStarts[g + 1] as number); k++) {
      const i = d.order[k] as number;
      if (d.labels[i]) tp += w[i] as number;
      else fp += w[i] as number;
    }
    if (tp + fp === 0) continue;
    const recall = tp / positives;
    area += (recall - previousRecall) * (tp / (tp + fp));
    previousRecall = recall;
  }
  return area;
}

/** Weighted Brier score. */
export function weightedBrier(d: SortedOutcome, w: Weights): number {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < d.labels.length; i++) {
    sum += (w[i] as number) * ((d.scores[i] as number) - (d.labels[i] as number)) ** 2;
    total += w[i] as number;
  }
  return total ? sum / total : Number.NaN;
}

/** Weighted 10-bin expected calibration error, as binary-metrics.ts `expectedCalibrationError`. */
export function weightedEce(d: SortedOutcome, w: Weights): number {
  const count = new Float64Array(10);
  const predicted = new Float64Array(10);
  const observed = new Float64Array(10);
  let total = 0;
  for (let i = 0; i < d.labels.length; i++) {
    const wi = w[i] as number;
    const b = d.bins[i] as number;
    count[b]! += wi;
    predicted[b]! += wi * (d.scores[i] as number);
    observed[b]! += wi * (d.labels[i] as number);
    total += wi;
  }
  let ece = 0;
  for (let b = 0; b < 10; b++) {
    if (count[b]! > 0)
      ece += (count[b]! / total) * Math.abs(observed[b]! / count[b]! - predicted[b]! / count[b]!);
  }
  return total ? ece : Number.NaN;
}

/** Confusion-matrix rates at "positive when probability ≥ threshold". */
export interface ThresholdRates {
  sensitivity: number;
  specificity: number;
  ppv: number;
  npv: number;
}

/** Weighted sensitivity, specificity, PPV and NPV at `probability ≥ threshold` (NaN where undefined). */
export function weightedRates(d: SortedOutcome, w: Weights, threshold: number): ThresholdRates {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < d.labels.length; i++) {
    const wi = w[i] as number;
    const flagged = (d.scores[i] as number) >= threshold;
    if (d.labels[i]) {
      if (flagged) tp += wi;
      else fn += wi;
    } else if (flagged) fp += wi;
    else tn += wi;
  }
  const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);
  return {
    sensitivity: ratio(tp, tp + fn),
    specificity: ratio(tn, tn + fp),
    ppv: ratio(tp, tp + fp),
    npv: ratio(tn, tn + fn),
  };
}
