import { describe, expect, it } from 'vitest';
import type { OutcomeMap } from '../../../src/contracts/localisation.js';
import { modelImageGeometry } from '../../../src/preprocess/imaging/to-model-image.js';
import { contentWindow, mapOntoSource, sourceRegion } from '../../../src/raster/map-to-source.js';

/** An 8×8 map over a 64×64 model grid, zero except `cells`; padding rows hold a decoy value. */
function map(cells: Array<[number, number, number]>, padding = 0): OutcomeMap {
  const values = new Float32Array(64);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) if (y < 2 || y > 5) values[y * 8 + x] = padding;
  for (const [x, y, v] of cells) values[y * 8 + x] = v;
  return { outcomeIndex: 0, width: 8, height: 8, values };
}

// A 200×100 landscape frame in a 64×64 grid: scaled to 64×32, 16 rows of padding above and below.
const geometry = modelImageGeometry(200, 100, [64, 64]);

describe('map back to the source pixel grid (issue #20)', () => {
  it('records the scale and centred padding toModelImage uses', () => {
    expect(geometry).toEqual({
      sourceWidth: 200,
      sourceHeight: 100,
      modelWidth: 64,
      modelHeight: 64,
      offsetX: 0,
      offsetY: 16,
      scaledWidth: 64,
      scaledHeight: 32,
    });
    // Cells 2..5 have their centres (20, 28, 36, 44 model px) on rows 16..47, the image.
    expect(contentWindow({ width: 8, height: 8 }, geometry)).toEqual({ x0: 0, x1: 7, y0: 2, y1: 5 });
  });

  it('lands a peak on the source pixels under it', () => {
    // Cell (6, 3): centre at model (52, 28) → source x = 52·200/64 = 162.5, y = (28 − 16)·100/32 = 37.5.
    const { mask, marked } = sourceRegion(map([[6, 3, 10]]), geometry);
    expect(marked).toBeGreaterThan(0);
    expect(mask[37 * 200 + 162]).toBe(1);
    expect(mask[80 * 200 + 20]).toBe(0);
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < mask.length; i++)
      if (mask[i]) {
        sx += i % 200;
        sy += Math.floor(i / 200);
      }
    expect(sx / marked).toBeGreaterThan(150);
    expect(sx / marked).toBeLessThan(175);
    expect(sy / marked).toBeGreaterThan(30);
    expect(sy / marked).toBeLessThan(45);
  });

  it('never maps padding: a large value in the padding cells reaches no source pixel', () => {
    const values = mapOntoSource(map([[1, 4, 5]], 100), geometry);
    expect(Math.max(...values)).toBeLessThanOrEqual(5);
    // And the region threshold ignores padding cells too (else nothing would pass half of 100).
    const { mask } = sourceRegion(map([[1, 4, 5]], 100), geometry);
    expect(mask.some((v) => v === 1)).toBe(true);
  });

  it('interpolates between cell centres (bilinear, not nearest)', () => {
    const m = map([
      [3, 3, 4],
      [4, 3, 8],
    ]);
    // Half way between the centres of cells 3 and 4 (model x = 32 → source x = 100) on row 3 (source y = 37.5).
    const values = mapOntoSource(m, geometry);
    expect(values[37 * 200 + 100]).toBeCloseTo(6, 0);
  });

  it('resamples onto a smaller grid covering the same frame (a thumbnail)', () => {
    const small = mapOntoSource(map([[6, 3, 10]]), geometry, 50, 25);
    let best = 0;
    for (let i = 1; i < small.length; i++) if (small[i]! > small[best]!) best = i;
    expect(Math.abs((best % 50) - 162.5 / 4)).toBeLessThanOrEqual(2);
    expect(Math.abs(Math.floor(best / 50) - 37.5 / 4)).toBeLessThanOrEqual(2);
  });

  it('marks nothing for a flat map (it points nowhere)', () => {
    expect(sourceRegion(map([]), geometry).marked).toBe(0);
  });
});
