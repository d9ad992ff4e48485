import { describe, expect, it } from 'vitest';
import {
  LOCALISATION_END,
  LOCALISATION_START,
  renderLocalisationSection,
  replaceLocalisationSection,
} from '../../../src/evaluation/localisation-card-section.js';
import {
  argmaxInRegion,
  bootstrapMean,
  pointingHit,
  thresholdedIou,
  upsampleMap,
} from '../../../src/evaluation/localisation-metrics.js';

const full8 = { x0: 0, y0: 0, width: 8, height: 8 };

/** An 8×8 mask with the given (x, y) pixels set. */
function mask(pixels: Array<[number, number]>): Uint8Array {
  const m = new Uint8Array(64);
  for (const [x, y] of pixels) m[y * 8 + x] = 1;
  return m;
}

describe('localisation metrics', () => {
  it('upsamples a 2×2 map bilinearly with pixel centres aligned, so the maximum stays in its quadrant', () => {
    const up = upsampleMap(Float32Array.of(0, 0, 0, 4), 2, 2, 8, 8);
    expect(up.length).toBe(64);
    expect(up[63]).toBeCloseTo(4);
    expect(up[0]).toBeCloseTo(0);
    expect(argmaxInRegion(up, 8, full8)).toBeGreaterThanOrEqual(36);
    expect(argmaxInRegion(up, 8, full8) % 8).toBeGreaterThanOrEqual(4);
  });

  it('scores the pointing game only inside the image region (padding never counts)', () => {
    const values = new Float32Array(64);
    values[0] = 10; // in the padding row
    values[2 * 8 + 3] = 5; // best inside the image
    const truth = mask([[3, 2]]);
    expect(pointingHit(values, truth, 8, full8)).toBe(0);
    expect(pointingHit(values, truth, 8, { x0: 0, y0: 1, width: 8, height: 6 })).toBe(1);
  });

  it('thresholds at half the range: negative maps work, and a perfect map has IoU 1', () => {
    const truth = mask([
      [1, 1],
      [2, 1],
    ]);
    const values = new Float32Array(64).fill(-3);
    values[9] = -1;
    values[10] = -1.5;
    expect(thresholdedIou(values, truth, 8, full8)).toBe(1);
    values[20] = -1; // one false positive: IoU 2/3
    expect(thresholdedIou(values, truth, 8, full8)).toBeCloseTo(2 / 3);
  });

  it('bootstraps the mean with a reproducible interval around it', () => {
    const hits = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? 0 : 1));
    const a = bootstrapMean(hits, 7);
    expect(a.mean).toBe(0.75);
    expect(a.n).toBe(200);
    expect(a.lower!).toBeLessThan(0.75);
    expect(a.upper!).toBeGreaterThan(0.75);
    expect(a.upper! - a.lower!).toBeLessThan(0.2);
    expect(bootstrapMean(hits, 7)).toEqual(a);
    expect(bootstrapMean([], 7)).toMatchObject({ n: 0, lower: null, upper: null });
  });
});

describe('localisation card section', () => {
  const stat = { mean: 0.5, n: 10, lower: 0.25, upper: 0.75 };
  const section = renderLocalisationSection({
    mapSizes: { 'outcome-map': [4, 4], 'finding-map': [16, 16] },
    inputSize: [64, 64],
    rows: [
      {
        split: 'test',
        lesion: 'cardiomegaly',
        map: 'finding-map',
        pointing: stat,
        iou: stat,
        presence: { threshold: 0.5, precision: { ...stat, mean: 0.9 }, recall: stat },
      },
      {
        split: 'test',
        lesion: 'cardiomegaly',
        outcome: 'Acute heart failure',
        map: 'outcome-map',
        pointing: stat,
        iou: stat,
      },
      {
        split: 'test',
        lesion: 'cardiomegaly',
        outcome: 'Acute heart failure',
        map: 'prior',
        pointing: stat,
        iou: stat,
      },
    ],
  });

  it('renders one row per lesion, split and map, with intervals and the synthetic-data caveat', () => {
    expect(section).toContain(
      '| test | cardiomegaly | outcome map (Acute heart failure) | 10 | 0.500 [0.250, 0.750] | 0.500 [0.250, 0.750] | — | — |',
    );
    expect(section).toContain(
      '| test | cardiomegaly | finding map | 10 | 0.500 [0.250, 0.750] | 0.500 [0.250, 0.750] | 0.900 [0.250, 0.750] | 0.500 [0.250, 0.750] |',
    );
    expect(section).toMatch(/16×16 cells/);
    expect(section).toContain('| test | cardiomegaly | prior (training mean mask) | 10 |');
    expect(section).toMatch(/synthetic data/);
  });

  it('inserts a Localisation section after the out-of-distribution one, then replaces it in place', () => {
    const card = '# c\n\n<!-- ood:start -->\nx\n<!-- ood:end -->\n\n## Ongoing maintenance\n';
    const once = replaceLocalisationSection(card, section);
    expect(once.indexOf('## Localisation')).toBeGreaterThan(once.indexOf('<!-- ood:end -->'));
    expect(once.indexOf('## Localisation')).toBeLessThan(once.indexOf('## Ongoing maintenance'));
    const twice = replaceLocalisationSection(once, 'new');
    expect(twice).toContain(`${LOCALISATION_START}\nnew\n${LOCALISATION_END}`);
    expect(twice.match(/## Localisation/g)?.length).toBe(1);
  });
});
