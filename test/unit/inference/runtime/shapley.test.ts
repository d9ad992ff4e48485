import { describe, expect, it } from 'vitest';
import { popcount, shapleyValues } from '../../../../src/inference/runtime/shapley.js';

describe('shapleyValues', () => {
  it('gives the textbook glove game split (players 0 and 1 hold left gloves, 2 a right glove)', () => {
    // v(S) = 1 when S holds a pair: {0,2} or {1,2}. Shapley: 1/6, 1/6, 2/3.
    const v = (kept: number): number => ((kept & 4) !== 0 && (kept & 3) !== 0 ? 1 : 0);
    const phi = shapleyValues(3, v);
    expect(phi[0]).toBeCloseTo(1 / 6, 12);
    expect(phi[1]).toBeCloseTo(1 / 6, 12);
    expect(phi[2]).toBeCloseTo(2 / 3, 12);
  });

  it('is efficient: four players sum to v(all) − v(none) for an arbitrary game', () => {
    const table = Array.from({ length: 16 }, (_, s) => Math.sin(s * 1.7 + 0.3) * 0.4 + 0.5);
    const phi = shapleyValues(4, (kept) => table[kept]!);
    expect(Math.abs(phi.reduce((a, b) => a + b, 0) - (table[15]! - table[0]!))).toBeLessThan(1e-12);
  });

  it('gives redundant players equal credit instead of none (what single-modality masking missed)', () => {
    // Either player alone gives the whole effect: masking one at a time shows 0 for both.
    const v = (kept: number): number => (kept === 0 ? 0.1 : 0.7);
    expect(shapleyValues(2, v)).toEqual([expect.closeTo(0.3, 12), expect.closeTo(0.3, 12)]);
  });

  it('reduces to the masking delta for one player', () => {
    expect(shapleyValues(1, (kept) => (kept ? 0.8 : 0.25))).toEqual([expect.closeTo(0.55, 12)]);
  });

  it('counts bits', () => {
    expect([0, 1, 2, 3, 7, 15, 16].map(popcount)).toEqual([0, 1, 1, 2, 3, 4, 1]);
  });
});
