import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calibrateProbability, riskBand } from '../../../../src/inference/manifest/calibration.js';

const bands = [
  { min: 0, code: 'negligible' as const },
  { min: 0.05, code: 'low' as const },
  { min: 0.2, code: 'moderate' as const },
  { min: 0.5, code: 'high' as const },
];

describe('calibrateProbability', () => {
  it('is the identity without calibration', () => {
    expect(calibrateProbability(0.3, undefined)).toBe(0.3);
    expect(calibrateProbability(0.3, { method: 'none' })).toBe(0.3);
  });

  it('applies Platt scaling on the logit', () => {
    // logit(0.5) = 0, so p' = sigmoid(b).
    expect(calibrateProbability(0.5, { method: 'platt', a: 2, b: 1 })).toBeCloseTo(
      1 / (1 + Math.exp(-1)),
      12,
    );
    const p = 0.8;
    const logit = Math.log(p / (1 - p));
    expect(calibrateProbability(p, { method: 'platt', a: 1.1, b: -0.2 })).toBeCloseTo(
      1 / (1 + Math.exp(-(1.1 * logit - 0.2))),
      12,
    );
  });

  it('stays finite and in [0, 1] for saturated inputs and is monotone for a > 0', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.1, max: 5, noNaN: true }),
        (x, y, a) => {
          const cal = { method: 'platt' as const, a, b: -0.3 };
          const cx = calibrateProbability(x, cal);
          const cy = calibrateProbability(y, cal);
          expect(cx).toBeGreaterThanOrEqual(0);
          expect(cx).toBeLessThanOrEqual(1);
          if (x < y) expect(cx).toBeLessThanOrEqual(cy);
        },
      ),
    );
  });
});

describe('riskBand', () => {
  it('picks the highest band whose min is not above the probability', () => {
    expect(riskBand(0, bands)).toBe('negligible');
    expect(riskBand(0.049, bands)).toBe('negligible');
    expect(riskBand(0.05, bands)).toBe('low');
    expect(riskBand(0.3, bands)).toBe('moderate');
    expect(riskBand(0.99, bands)).toBe('high');
  });
});
