import { describe, expect, it } from 'vitest';
import { createRng } from '../../../../src/sandbox/cohort/seeded-random.js';

describe('createRng', () => {
  it('gives the same stream for the same seed and stream, different streams otherwise', () => {
    const a = createRng(7, 1);
    const b = createRng(7, 1);
    const c = createRng(7, 2);
    const sa = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(sa);
  });

  it('draws uniforms in [0, 1) and integers within inclusive bounds', () => {
    const r = createRng(1);
    const ints = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const u = r.next();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      ints.add(r.int(2, 5));
    }
    expect([...ints].sort()).toEqual([2, 3, 4, 5]);
  });

  it('draws normals with mean ≈ 0 and sd ≈ 1, exact and approximate', () => {
    const r = createRng(3);
    for (const draw of [() => r.normal(), () => r.approxNormal()]) {
      const xs = Array.from({ length: 20000 }, draw);
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
      expect(Math.abs(mean)).toBeLessThan(0.03);
      expect(Math.abs(sd - 1)).toBeLessThan(0.03);
    }
  });
});
