import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import { evaluateLocalisation } from '../../../src/evaluation/evaluate-localisation.js';
import { LOCALISATION_START } from '../../../src/evaluation/localisation-card-section.js';
import type { FeedTensor } from '../../../src/evaluation/model-feeds.js';
import { parseManifest } from '../../../src/inference/manifest/manifest-schema.js';
import { serializeNpy } from '../../../src/inference/manifest/npy-format.js';

/**
 * A 4×4-pixel world with 2×2 maps: the lesion is always one quadrant, which the image encodes as a
 * bright pixel. The fake "model" points at that quadrant for cardiomegaly (heart-failure map) and
 * at the opposite one for consolidation (pneumonia map), so the pointing game must come out 1 and
 * 0; the prior (training mean mask) points at the quadrant the training lesions were in.
 */
const N = 40;
let root: string;
const outcome = (index: number, code: string, display: string) => ({
  index,
  coding: { system: 'http://snomed.info/sct', code, display },
  thresholds: [{ min: 0, code: 'low' as const }],
});
const manifest: ModelManifest = {
  schemaVersion: 1,
  name: 'loc-model',
  version: '1',
  title: 'loc',
  description: 'synthetic test model',
  trainingData: { synthetic: true, description: 'synthetic' },
  files: {},
  inputs: [{ name: 'image', dtype: 'float32', shape: [-1, 1, 4, 4], role: 'image' }],
  outputs: [
    { name: 'probabilities', dtype: 'float32', shape: [-1, 2], role: 'probabilities' },
    { name: 'localisation_map', dtype: 'float32', shape: [-1, 2, 2, 2], role: 'localisation' },
    { name: 'finding_map', dtype: 'float32', shape: [-1, 3, 2, 2], role: 'finding-map' },
    { name: 'finding_probabilities', dtype: 'float32', shape: [-1, 3], role: 'finding-probabilities' },
  ],
  imageFindings: [
    {
      index: 0,
      coding: { system: 'http://snomed.info/sct', code: '8186001', display: 'Cardiomegaly' },
      threshold: 0.5,
    },
    {
      index: 1,
      coding: { system: 'http://snomed.info/sct', code: '60046008', display: 'Pleural effusion' },
      threshold: 0.5,
    },
    {
      index: 2,
      coding: { system: 'http://snomed.info/sct', code: '95436008', display: 'Lung consolidation' },
      threshold: 0.5,
    },
  ],
  preprocessing: {
    image: {
      lookbackHours: 1,
      modalities: ['CR'],
      bodyPart: 'CHEST',
      viewPositions: ['PA'],
      size: [4, 4],
      mean: 0,
      std: 1,
    },
  },
  outcomes: [outcome(0, '56675007', 'Acute heart failure'), outcome(1, '233604007', 'Pneumonia')],
  applicability: { requires: ['image'], toleratesMissing: [] },
};

/** Quadrant q (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) of a 4×4 grid, as a mask. */
function quadrant(q: number): Uint8Array {
  const m = new Uint8Array(16);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 2; x++) m[(y + 2 * (q >> 1)) * 4 + x + 2 * (q & 1)] = 1;
  return m;
}

function writeSplit(dir: string, quadrantOf: (i: number) => number): void {
  mkdirSync(dir, { recursive: true });
  const image = new Float32Array(N * 16);
  const masks = new Uint8Array(N * 3 * 16);
  for (let i = 0; i < N; i++) {
    const q = quadrantOf(i);
    image.set(quadrant(q), i * 16); // bright where the lesion is
    masks.set(quadrant(q), (i * 3 + 0) * 16); // cardiomegaly
    if (i % 2 === 0) masks.set(quadrant(q), (i * 3 + 2) * 16); // consolidation in half of them
  }
  const f32 = (shape: number[], data: Float32Array) => serializeNpy({ dtype: 'float32', shape, data });
  writeFileSync(join(dir, 'image.npy'), f32([N, 1, 4, 4], image));
  writeFileSync(
    join(dir, 'lesion_masks.npy'),
    serializeNpy({ dtype: 'uint8', shape: [N, 3, 4, 4], data: masks }),
  );
  writeFileSync(join(dir, 'labels.npy'), f32([N, 2], new Float32Array(N * 2)));
  // Image present for all but the last patient (who must be skipped).
  const mm = new Float32Array(N * 4);
  for (let i = 0; i < N - 1; i++) mm[i * 4 + 2] = 1;
  writeFileSync(join(dir, 'modality_mask.npy'), f32([N, 4], mm));
  writeFileSync(join(dir, 'age.npy'), f32([N], new Float32Array(N).fill(60)));
  writeFileSync(join(dir, 'sex_female.npy'), f32([N], new Float32Array(N)));
}

/**
 * Outputs by name. `localisation_map`: each 2×2 cell is its quadrant's mean; the pneumonia map is
 * the mirror image. `finding_map`: every finding's channel is the quadrant means (points right).
 * (as logits, ±5) `finding_probabilities`: cardiomegaly always called; consolidation called when the bright
 * quadrant is 0 or 1; effusion never.
 */
function fakeRunner(_path: string, _manifest: ModelManifest, output: string) {
  return Promise.resolve({
    run(feeds: Record<string, FeedTensor>): Promise<Float32Array> {
      const image = feeds['image']!.data as Float32Array;
      const rows = feeds['image']!.dims[0]!;
      const channels = output === 'localisation_map' ? 2 : 3;
      const out = new Float32Array(rows * channels * (output === 'finding_probabilities' ? 1 : 4));
      for (let r = 0; r < rows; r++) {
        const means = [0, 1, 2, 3].map(
          (q) => quadrant(q).reduce((s, m, i) => s + m * image[r * 16 + i]!, 0) / 4,
        );
        const bright = means.indexOf(Math.max(...means));
        for (let q = 0; q < 4; q++) {
          if (output === 'localisation_map') {
            out[r * 8 + q] = means[q]!;
            out[r * 8 + 4 + (3 - q)] = means[q]!;
          } else if (output === 'finding_map') {
            // Logits: +5 on the bright quadrant, −5 elsewhere.
            for (let c = 0; c < 3; c++) out[(r * 3 + c) * 4 + q] = 10 * means[q]! - 5;
          }
        }
        if (output === 'finding_probabilities') out.set([0.9, 0.1, bright <= 1 ? 0.8 : 0.2], r * 3);
      }
      return Promise.resolve(out);
    },
    release: () => Promise.resolve(),
  });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'evaluate-localisation-'));
  const data = join(root, 'data');
  writeFileSync(
    join((mkdirSync(data, { recursive: true }), data), 'dataset.json'),
    JSON.stringify({ lesionTypes: ['cardiomegaly', 'effusion', 'consolidation'] }),
  );
  writeSplit(join(data, 'train'), () => 3); // training lesions always bottom-right
  writeSplit(join(data, 'test'), (i) => [3, 0, 1, 2][i % 4]!); // a quarter bottom-right
  const folder = join(root, 'models', 'loc-model', '1');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifest));
  writeFileSync(join(folder, 'card.md'), '# card\n\n<!-- metrics:end -->\n\n## Ongoing maintenance\n');
  writeFileSync(join(folder, 'model.onnx'), 'fake');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('evaluateLocalisation', () => {
  it('scores the model and the training prior per lesion on images with the lesion, and writes the card section', async () => {
    const reports = await evaluateLocalisation({
      modelsDir: join(root, 'models'),
      datasetDir: join(root, 'data'),
      openRunner: fakeRunner,
    });
    const rows = reports['loc-model']!.rows;
    const row = (lesion: string, map: string) => rows.find((r) => r.lesion === lesion && r.map === map)!;
    // Images with the lesion and the image present: 39 of 40 for cardiomegaly, 20 for consolidation.
    expect(row('cardiomegaly', 'outcome-map').pointing).toMatchObject({ n: 39, mean: 1 });
    expect(row('cardiomegaly', 'outcome-map').iou.mean).toBe(1);
    expect(row('consolidation', 'outcome-map').pointing).toMatchObject({ n: 20, mean: 0 });
    // The prior always points bottom-right, where a quarter of the test lesions are (0, 4, 8, …).
    expect(row('cardiomegaly', 'prior').pointing.mean).toBeCloseTo(10 / 39);
    expect(rows.some((r) => r.lesion === 'effusion')).toBe(false); // no effusion anywhere
    // The finding map scores each lesion on its own channel, and the presence call on every imaged
    // film: consolidation is called on quadrants 0–1 (i % 4 = 1, 2) and present on even i.
    expect(row('consolidation', 'finding-map').pointing).toMatchObject({ n: 20, mean: 1 });
    expect(row('consolidation', 'finding-map').presence).toMatchObject({
      threshold: 0.5,
      precision: { n: 20, mean: 0.5 },
      recall: { n: 20, mean: 0.5 },
    });
    const card = readFileSync(join(root, 'models', 'loc-model', '1', 'card.md'), 'utf8');
    expect(card).toContain(LOCALISATION_START);
    expect(card).toContain('`LOCALISATION_MIN_POINTING_GAME` (default 0.85)'); // the card says maps are gated
    expect(card).toContain(
      '| test | cardiomegaly | outcome map (Acute heart failure) | 39 | 1.000 [1.000, 1.000] | 1.000 [1.000, 1.000] | — | — |',
    );
    expect(card).toContain(
      '| test | cardiomegaly | finding map | 39 | 1.000 [1.000, 1.000] | 1.000 [1.000, 1.000] | 1.000 [1.000, 1.000] | 1.000 [1.000, 1.000] |',
    );
    // One prior row per lesion and split, however many maps are scored.
    expect(rows.filter((r) => r.map === 'prior' && r.lesion === 'cardiomegaly')).toHaveLength(1);
    const written = JSON.parse(
      readFileSync(join(root, 'models', 'loc-model', '1', 'manifest.json'), 'utf8'),
    ) as ModelManifest;
    expect(Object.keys(written.files)).toEqual(['card.md', 'model.onnx']);
    // The same-site test figures go into the manifest, where serving reads them before showing a map.
    const loc = written.metrics?.localisation;
    expect(loc?.split).toBe('test');
    expect(
      loc?.lesions.map((l) => [l.lesion, l.finding.code, l.outcome, l.images, l.presence?.precision.mean]),
    ).toEqual([
      ['cardiomegaly', '8186001', undefined, 39, 1],
      ['cardiomegaly', '8186001', '56675007', 39, undefined],
      ['consolidation', '95436008', undefined, 20, 0.5],
      ['consolidation', '95436008', '233604007', 20, undefined],
    ]);
    expect(loc?.lesions[1]).toMatchObject({ pointingGame: { mean: 1, lower: 1, upper: 1 } });
    expect(loc?.lesions[1]!.priorPointingGame.mean).toBeCloseTo(10 / 39);
    expect(loc?.lesions[3]!.pointingGame.mean).toBe(0);
    expect(parseManifest(written).ok).toBe(true);
  });
});
