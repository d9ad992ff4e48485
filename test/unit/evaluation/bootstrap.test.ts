import { describe, expect, it } from 'vitest';
import {
  auprc,
  auroc,
  brierScore,
  expectedCalibrationError,
} from '../../../src/evaluation/binary-metrics.js';
import {
  mulberry32,
  percentileInterval,
  resampleWeights,
  sortOutcome,
  weightedAuprc,
  weightedAuroc,
  weightedBrier,
  weightedEce,
  weightedRates,
} from '../../../src/evaluation/bootstrap.js';
import { pairedAurocDifference } from '../../../src/evaluation/model-statistics.js';

/** A seeded world: scores informative about labels, with ties (rounded to 2 decimals). */
function world(n: number, seed: number, signal = 1.5): { labels: number[]; scores: number[] } {
  const r = mulberry32(seed);
  const labels = Array.from({ length: n }, () => (r() < 0.3 ? 1 : 0));
  const scores = labels.map(
    (y) => Math.round(100 / (1 + Math.exp(-(signal * y - 0.8 + (r() - 0.5) * 3)))) / 100,
  );
  return { labels, scores };
}

describe('weighted metrics', () => {
  it('equal the unweighted binary metrics when every weight is 1 (ties included)', () => {
    const { labels, scores } = world(500, 7);
    const d = sortOutcome(labels, scores);
    const ones = new Array(labels.length).fill(1);
    expect(weightedAuroc(d, ones)).toBeCloseTo(auroc(labels, scores), 12);
    expect(weightedAuprc(d, ones)).toBeCloseTo(auprc(labels, scores), 12);
    expect(weightedBrier(d, ones)).toBeCloseTo(brierScore(labels, scores), 12);
    expect(weightedEce(d, ones)).toBeCloseTo(expectedCalibrationError(labels, scores), 12);
  });

  it('equal the metrics of the expanded data set for integer weights (a resample)', () => {
    const { labels, scores } = world(200, 11);
    const [w] = resampleWeights(200, 1, 3);
    const expand = <T>(xs: T[]): T[] => xs.flatMap((x, i) => new Array<T>(w![i]!).fill(x));
    const d = sortOutcome(labels, scores);
    expect(weightedAuroc(d, w!)).toBeCloseTo(auroc(expand(labels), expand(scores)), 12);
    expect(weightedAuprc(d, w!)).toBeCloseTo(auprc(expand(labels), expand(scores)), 12);
    expect(weightedEce(d, w!)).toBeCloseTo(expectedCalibrationError(expand(labels), expand(scores)), 12);
  });

  it('computes sensitivity, specificity, PPV and NPV at a threshold', () => {
    const d = sortOutcome([1, 1, 0, 0, 1], [0.9, 0.3, 0.6, 0.1, 0.5]);
    // ≥ 0.5 flags 0.9 (TP), 0.6 (FP), 0.5 (TP); misses 0.3 (FN); 0.1 is TN.
    expect(weightedRates(d, [1, 1, 1, 1, 1], 0.5)).toEqual({
      sensitivity: 2 / 3,
      specificity: 1 / 2,
      ppv: 2 / 3,
      npv: 1 / 2,
    });
  });
});

describe('bootstrap', () => {
  it('is deterministic for a seed and each resample draws n patients', () => {
    const a = Array.from(resampleWeights(50, 3, 42), (w) => [...w]); // the buffer is reused: copy while iterating
    const b = Array.from(resampleWeights(50, 3, 42), (w) => [...w]);
    expect(a).toEqual(b);
    for (const w of a) expect(w.reduce((s, x) => s + x, 0)).toBe(50);
    expect(a[0]).not.toEqual(a[1]);
  });

  it('percentile interval is the 2.5 % and 97.5 % quantiles', () => {
    const values = Array.from({ length: 1001 }, (_, i) => i / 1000);
    expect(percentileInterval(values)).toEqual({
      lower: expect.closeTo(0.025, 12),
      upper: expect.closeTo(0.975, 12),
    });
  });

  it('paired difference: a clearly better model gets a CI above zero, an identical one straddles zero', () => {
    const strong = world(600, 5, 3);
    const r = mulberry32(9);
    const weak = strong.scores.map((s) => Math.min(1, Math.max(0, s + (r() - 0.5) * 0.8)));
    const better = pairedAurocDifference('t', strong.labels, strong.scores, weak);
    expect(better.difference.lower).toBeGreaterThan(0);
    expect(better.pValue).toBeLessThan(0.01);
    const same = pairedAurocDifference(
      't',
      strong.labels,
      strong.scores,
      strong.scores.map((s) => s),
    );
    expect(same.difference).toEqual({ value: 0, lower: 0, upper: 0 });
  });
});
