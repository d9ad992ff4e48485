import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auprc,
  auroc,
  binaryMetrics,
  brierScore,
  calibrationBins,
  expectedCalibrationError,
  MetricInputError,
  rocCurve,
} from '../../../src/evaluation/binary-metrics.js';

// The classic four-sample example: positives score 0.35 and 0.8, negatives 0.1 and 0.4.
const labels = [0, 0, 1, 1];
const scores = [0.1, 0.4, 0.35, 0.8];

describe('auroc', () => {
  it('is the fraction of positive–negative pairs ranked correctly (3 of 4)', () => {
    expect(auroc(labels, scores)).toBeCloseTo(0.75, 12);
  });

  it('counts a tie as half a pair', () => {
    expect(auroc([0, 1], [0.5, 0.5])).toBeCloseTo(0.5, 12);
    // pairs: (0.7 vs 0.2) 1, (0.7 vs 0.7) ½, (0.9 vs both) 2 → 3.5 / 4
    expect(auroc([1, 0, 1, 0], [0.7, 0.2, 0.9, 0.7])).toBeCloseTo(0.875, 12);
  });

  it('is NaN when only one class is present', () => {
    expect(auroc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it('equals the brute-force Mann–Whitney statistic', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 20 })), { minLength: 2, maxLength: 40 }),
        (pairs) => {
          const y = pairs.map((p) => p[0]);
          const s = pairs.map((p) => p[1] / 20);
          const pos = s.filter((_, i) => y[i] === 1);
          const neg = s.filter((_, i) => y[i] === 0);
          fc.pre(pos.length > 0 && neg.length > 0);
          let wins = 0;
          for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
          expect(auroc(y, s)).toBeCloseTo(wins / (pos.length * neg.length), 10);
        },
      ),
    );
  });
});

describe('rocCurve', () => {
  it('runs from (0,0) through each distinct threshold to (1,1)', () => {
    expect(rocCurve(labels, scores).map((p) => [p.falsePositiveRate, p.truePositiveRate])).toEqual([
      [0, 0],
      [0, 0.5],
      [0.5, 0.5],
      [0.5, 1],
      [1, 1],
    ]);
  });
});

describe('auprc', () => {
  it('is average precision: 0.5·1 + 0.5·(2/3)', () => {
    expect(auprc(labels, scores)).toBeCloseTo(0.5 + 1 / 3, 12);
  });

  it('is 1 for a perfect ranking and NaN without positives', () => {
    expect(auprc([0, 1, 1], [0.1, 0.8, 0.9])).toBeCloseTo(1, 12);
    expect(auprc([0, 0], [0.1, 0.2])).toBeNaN();
  });
});

describe('brierScore', () => {
  it('is the mean squared error: ((0.2)² + (0.3)²) / 2', () => {
    expect(brierScore([1, 0], [0.8, 0.3])).toBeCloseTo(0.065, 12);
  });

  it('rejects probabilities outside [0, 1] and non-binary labels', () => {
    expect(() => brierScore([1], [1.2])).toThrow(MetricInputError);
    expect(() => brierScore([2], [0.5])).toThrow(MetricInputError);
    expect(() => brierScore([1, 0], [0.5])).toThrow(MetricInputError);
    expect(() => brierScore([], [])).toThrow(MetricInputError);
  });
});

describe('expected calibration error', () => {
  const y = [1, 0, 1, 0];
  const p = [0.1, 0.2, 0.85, 0.95];

  it('weights each bin gap by its share of samples (10 bins)', () => {
    // bins 1, 2, 8, 9 hold one sample each: ¼ (0.9 + 0.2 + 0.15 + 0.95)
    expect(expectedCalibrationError(y, p)).toBeCloseTo(0.55, 12);
  });

  it('uses the bin means (2 bins)', () => {
    // [0, .5): mean p .15, rate .5 → .35 · ½; [.5, 1]: mean p .9, rate .5 → .4 · ½
    expect(expectedCalibrationError(y, p, 2)).toBeCloseTo(0.375, 12);
  });

  it('puts probability 1 in the last bin and is 0 when perfectly calibrated', () => {
    const bins = calibrationBins([1, 1], [1, 1], 4);
    expect(bins[3]?.count).toBe(2);
    expect(expectedCalibrationError([1, 1, 0, 0], [1, 1, 0, 0])).toBe(0);
  });
});

describe('binaryMetrics', () => {
  it('gathers the four metrics with counts', () => {
    const m = binaryMetrics(labels, scores);
    expect(m).toMatchObject({ n: 4, positives: 2 });
    expect(m.auroc).toBeCloseTo(0.75, 12);
    expect(m.auprc).toBeCloseTo(5 / 6, 12);
    expect(m.brier).toBeCloseTo((0.01 + 0.16 + 0.4225 + 0.04) / 4, 12);
  });
});
