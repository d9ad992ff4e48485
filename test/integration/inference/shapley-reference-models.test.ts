import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MODALITY_ORDER,
  type ModalityName,
  type ModelManifest,
} from '../../../src/contracts/manifest-types.js';
import { calibrateProbability } from '../../../src/inference/manifest/calibration.js';
import { parseNpy } from '../../../src/inference/manifest/npy-format.js';
import type { TensorData } from '../../../src/inference/manifest/tensor-data.js';
import {
  createInferenceEngine,
  type InferenceEngine,
} from '../../../src/inference/runtime/inference-engine.js';
import { loadModelRegistry, type ModelRegistry } from '../../../src/inference/runtime/model-registry.js';
import { capturingLogger } from '../../fixtures/models/model-fixtures.js';
import { repoRoot } from '../../helpers/fixtures.js';

/**
 * Issue 19 point 3: modality attributions are exact Shapley values, so per outcome they sum to
 * f(every present modality) − f(none), where f(none) is the patient with every modality masked the
 * way a missing modality reaches the model. Checked on the shipped (synthetic-data) reference models.
 */
const modelsDir = join(repoRoot, 'models');
const MODELS = [
  'attention-fusion',
  'late-fusion',
  'early-fusion',
  'tabular-risk',
  'image-cnn',
  'ecg-cnn',
  'text-bilstm',
];
const ROLES: Record<ModalityName, string[]> = {
  tabular: ['tabular-values', 'tabular-mask'],
  text: ['text-tokens'],
  image: ['image'],
  ecg: ['ecg-waveform', 'ecg-image'],
};

let registry: ModelRegistry;
let engine: InferenceEngine;
const sessions = new Map<string, ort.InferenceSession>();

beforeAll(async () => {
  registry = await loadModelRegistry({
    modelsDir,
    active: MODELS.map((m) => `${m}@1`),
    executionProviders: ['cpu'],
    logger: capturingLogger(),
  });
  engine = createInferenceEngine({
    registry,
    threads: 1,
    maxBatchSize: 64,
    maxQueueDelayMs: 0,
    queueLimit: 10,
    logger: capturingLogger(),
  });
  for (const name of MODELS) {
    sessions.set(name, await ort.InferenceSession.create(join(modelsDir, name, '1', 'model.onnx')));
  }
}, 120_000);
afterAll(async () => {
  await engine.close();
  for (const s of sessions.values()) await s.release();
});

/** Golden input row `row` of a shipped model, with `drop` modalities masked as missing. */
function goldenRow(
  manifest: ModelManifest,
  name: string,
  row: number,
  drop: ModalityName[],
): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const input of manifest.inputs) {
    const npy = parseNpy(readFileSync(join(modelsDir, name, '1', `golden-input-${input.name}.npy`)));
    const size = npy.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = npy.data.slice(row * size, (row + 1) * size) as Float32Array | BigInt64Array;
    const masked = drop.some((m) => ROLES[m].includes(input.role));
    if (masked) data.fill((data instanceof BigInt64Array ? 0n : 0) as never);
    if (input.role === 'modality-mask')
      for (const m of drop) (data as Float32Array)[MODALITY_ORDER.indexOf(m)] = 0;
    out[input.name] = { dtype: input.dtype, dims: [1, ...npy.shape.slice(1)], data } as TensorData;
  }
  return out;
}

function presentModalities(manifest: ModelManifest, tensors: Record<string, TensorData>): ModalityName[] {
  const maskInput = manifest.inputs.find((i) => i.role === 'modality-mask');
  return MODALITY_ORDER.filter((m) => {
    if (!manifest.inputs.some((i) => ROLES[m].includes(i.role))) return false;
    return maskInput
      ? (tensors[maskInput.name]!.data as Float32Array)[MODALITY_ORDER.indexOf(m)] === 1
      : true;
  });
}

async function calibratedRun(
  name: string,
  manifest: ModelManifest,
  tensors: Record<string, TensorData>,
): Promise<number[]> {
  const feeds = Object.fromEntries(
    Object.entries(tensors).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data.slice(), t.dims)]),
  );
  const raw = (await sessions.get(name)!.run(feeds)).probabilities!.data as Float32Array;
  return manifest.outcomes.map((o) => calibrateProbability(raw[o.index]!, o.calibration));
}

/** Cases: (model, golden row, modalities additionally dropped) → 4, 3, 2 and 1 Shapley players. */
const CASES: Array<[string, number, ModalityName[]]> = [
  ['attention-fusion', 0, []],
  ['attention-fusion', 1, []],
  ['attention-fusion', 0, ['text', 'ecg']],
  ['attention-fusion', 0, ['tabular', 'image', 'text']],
  ['late-fusion', 0, []],
  ['late-fusion', 2, []],
  ['late-fusion', 0, ['image', 'ecg']],
  ['tabular-risk', 0, []],
  ['image-cnn', 0, []],
  ['ecg-cnn', 0, []],
  ['text-bilstm', 0, []],
];

describe('Shapley modality attributions on the shipped reference models', () => {
  it.each(CASES)(
    '%s golden row %i minus %j: contributions sum to f(all) − f(none) within 1e-6',
    async (name, row, drop) => {
      const manifest = registry.get(name, '1')!.manifest;
      const tensors = goldenRow(manifest, name, row, drop);
      const present = presentModalities(manifest, tensors);
      expect(present.length).toBeGreaterThan(0);
      const presence = Object.fromEntries(present.map((m) => [m, true]));
      const result = await engine.infer(name, '1', tensors, { presence });
      expect(result.modalityContributions.map((c) => c.modality)).toEqual(present);

      const all = await calibratedRun(name, manifest, tensors);
      const none = await calibratedRun(name, manifest, goldenRow(manifest, name, row, [...drop, ...present]));
      result.predictions.forEach((p, position) => {
        expect(Math.abs(p.probability - all[position]!)).toBeLessThan(1e-6);
        const sum = result.modalityContributions.reduce((s, c) => s + c.delta[position]!, 0);
        expect(Math.abs(sum - (all[position]! - none[position]!))).toBeLessThan(1e-6);
      });
    },
  );
});
