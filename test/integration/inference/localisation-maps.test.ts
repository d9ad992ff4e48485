import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import { readNpyTensor } from '../../../src/inference/manifest/npy-format.js';
import type { TensorData } from '../../../src/inference/manifest/tensor-data.js';
import {
  createInferenceEngine,
  type InferenceEngine,
} from '../../../src/inference/runtime/inference-engine.js';
import { loadModelRegistry } from '../../../src/inference/runtime/model-registry.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { capturingLogger } from '../../fixtures/models/model-fixtures.js';

/**
 * image-cnn's faithful localisation map (issue 20): an extra output of the same graph, so one
 * ONNX Runtime run gives the probabilities and the maps, and mean(map) + offset is the logit.
 */
const dir = join(repoRoot, 'models', 'image-cnn', '1');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
const npy = (file: string): TensorData => readNpyTensor(readFileSync(join(dir, file)));
const image = npy('golden-input-image.npy');
const goldenMap = npy('golden-output-localisation_map.npy');
const logit = (p: number): number => Math.log(p / (1 - p));

describe('image-cnn localisation output through onnxruntime-node', () => {
  it('declares the map per outcome on a 4×4 grid, and mean(map) + offset reproduces the logit to 1e-4', async () => {
    const map = manifest.outputs.find((o) => o.role === 'localisation');
    expect(map?.shape).toEqual([-1, 3, 4, 4]);
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
    try {
      const out = await session.run({
        image: new ort.Tensor('float32', image.data as Float32Array, image.dims),
      });
      const probabilities = out.probabilities!.data as Float32Array;
      const values = out.localisation_map!.data as Float32Array;
      const offset = out.localisation_offset!.data as Float32Array;
      expect(out.localisation_map!.dims).toEqual([image.dims[0], 3, 4, 4]);
      let checked = 0;
      for (let n = 0; n < image.dims[0]!; n++) {
        for (let k = 0; k < 3; k++) {
          const cells = values.subarray((n * 3 + k) * 16, (n * 3 + k + 1) * 16);
          const mean = cells.reduce((a, b) => a + b, 0) / 16;
          expect(Math.abs(mean + offset[n * 3 + k]! - logit(probabilities[n * 3 + k]!))).toBeLessThan(1e-4);
          checked++;
        }
      }
      expect(checked).toBe(image.dims[0]! * 3);
      // Not a constant map: the cells differ, so the mean identity is not met by a flat map.
      const spread = Math.max(...values.subarray(0, 16)) - Math.min(...values.subarray(0, 16));
      expect(spread).toBeGreaterThan(0.01);
    } finally {
      await session.release();
    }
  });
});

describe('image-cnn localisation maps through the inference engine', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    const registry = await loadModelRegistry({
      modelsDir: join(repoRoot, 'models'),
      active: ['image-cnn@1', 'tabular-risk@1'],
      executionProviders: ['cpu'],
      logger: capturingLogger(),
    });
    engine = createInferenceEngine({
      registry,
      threads: 1,
      maxBatchSize: 64,
      maxQueueDelayMs: 5,
      queueLimit: 100,
      logger: capturingLogger(),
    });
    await engine.ready();
  });
  afterAll(async () => {
    await engine?.close();
  });

  const row = (r: number): TensorData => ({
    dtype: 'float32',
    dims: [1, 1, 64, 64],
    data: (image.data as Float32Array).slice(r * 4096, (r + 1) * 4096),
  });

  it('returns one map per outcome, equal to the golden map, from the same single batch run', async () => {
    const before = engine.stats().batches;
    const answer = await engine.infer('image-cnn', '1', { image: row(0) }, { presence: { image: true } });
    expect(engine.stats().batches - before).toBe(1);
    const maps = answer.localisationMaps ?? [];
    expect(maps.map((m) => [m.outcomeIndex, m.width, m.height])).toEqual([
      [0, 4, 4],
      [1, 4, 4],
      [2, 4, 4],
    ]);
    const gold = goldenMap.data as Float32Array;
    maps.forEach((m, k) => {
      Array.from(m.values).forEach((v, c) => expect(Math.abs(v - gold[k * 16 + c]!)).toBeLessThan(1e-4));
    });
  });

  it('returns the finding maps and presence probabilities of the finding localiser from the same run (issue 20)', async () => {
    const goldenFindingMap = npy('golden-output-finding_map.npy').data as Float32Array;
    const goldenPresence = npy('golden-output-finding_probabilities.npy').data as Float32Array;
    const answer = await engine.infer('image-cnn', '1', { image: row(1) }, { presence: { image: true } });
    const maps = answer.findingMaps ?? [];
    expect(maps.map((m) => [m.findingIndex, m.width, m.height])).toEqual([
      [0, 16, 16],
      [1, 16, 16],
      [2, 16, 16],
    ]);
    maps.forEach((m, f) => {
      expect(Math.abs(m.probability - goldenPresence[3 + f]!)).toBeLessThan(1e-5);
      Array.from(m.values).forEach((v, c) =>
        expect(Math.abs(v - goldenFindingMap[(3 + f) * 256 + c]!)).toBeLessThan(1e-4),
      );
    });
    const zeros: TensorData = { dtype: 'float32', dims: [1, 1, 64, 64], data: new Float32Array(4096) };
    const absent = await engine.infer('image-cnn', '1', { image: zeros }, { presence: { image: false } });
    expect(absent.findingMaps).toBeUndefined();
  });

  it('returns no map when the image was not present, nor for a model without a localisation output', async () => {
    const zeros: TensorData = { dtype: 'float32', dims: [1, 1, 64, 64], data: new Float32Array(4096) };
    const absent = await engine.infer('image-cnn', '1', { image: zeros }, { presence: { image: false } });
    expect(absent.localisationMaps).toBeUndefined();
    const tabular = JSON.parse(
      readFileSync(join(repoRoot, 'models', 'tabular-risk', '1', 'manifest.json'), 'utf8'),
    ) as ModelManifest;
    const features = tabular.preprocessing.tabular!.features.length;
    const values: TensorData = { dtype: 'float32', dims: [1, features], data: new Float32Array(features) };
    const mask: TensorData = {
      dtype: 'float32',
      dims: [1, features],
      data: new Float32Array(features).fill(1),
    };
    const answer = await engine.infer(
      'tabular-risk',
      '1',
      { tabular_values: values, tabular_mask: mask },
      { presence: { tabular: true } },
    );
    expect(answer.predictions.length).toBe(3);
    expect(answer.localisationMaps).toBeUndefined();
  });
});
