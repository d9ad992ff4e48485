import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceOutput } from '../../../src/contracts/assessment-result.js';
import { calibrateProbability } from '../../../src/inference/manifest/calibration.js';
import {
  InferenceEngineClosed,
  InferenceInputError,
  InferenceQueueFull,
  ModelNotFoundError,
} from '../../../src/inference/runtime/inference-errors.js';
import { createInferenceEngine, type InferenceEngine } from '../../../src/inference/runtime/inference-engine.js';
import { createInferenceMetrics } from '../../../src/inference/runtime/inference-metrics.js';
import { loadModelRegistry, type ModelRegistry } from '../../../src/inference/runtime/model-registry.js';
import type { TensorData } from '../../../src/inference/manifest/tensor-data.js';
import { capturingLogger, testModelsDir } from '../../fixtures/models/model-fixtures.js';

/** Deterministic per-patient inputs for tiny-fusion: patient i gets its own values and image. */
function fusionPatient(
  i: number,
  options: { image?: boolean; missingFeature?: number } = {},
): Record<string, TensorData> {
  let seed = 1000 + i * 7919;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const mask = new Float32Array([1, 1, 1, 1]);
  if (options.missingFeature !== undefined) mask[options.missingFeature] = 0;
  const values = Float32Array.from({ length: 4 }, (_, k) => (mask[k] ? next() * 4 - 2 : 0));
  const hasImage = options.image ?? true;
  const image = Float32Array.from({ length: 64 }, () => (hasImage ? next() * 2 - 1 : 0));
  return {
    tabular_values: { dtype: 'float32', dims: [1, 4], data: values },
    tabular_mask: { dtype: 'float32', dims: [1, 4], data: mask },
    image: { dtype: 'float32', dims: [1, 1, 8, 8], data: image },
    modality_mask: { dtype: 'float32', dims: [1, 4], data: new Float32Array([1, 0, hasImage ? 1 : 0, 0]) },
  };
}

const presence = { tabular: true, image: true };

let registry: ModelRegistry;
let direct: ort.InferenceSession;

/** The reference: one patient, batch 1, straight through ONNX Runtime on this thread, then calibration. */
async function singleRun(tensors: Record<string, TensorData>): Promise<number[]> {
  const feeds = Object.fromEntries(
    Object.entries(tensors).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data.slice(), t.dims)]),
  );
  const out = await direct.run(feeds);
  const raw = out.probabilities!.data as Float32Array;
  const manifest = registry.get('tiny-fusion')!.manifest;
  return manifest.outcomes.map((o) => calibrateProbability(raw[o.index]!, o.calibration));
}

beforeAll(async () => {
  registry = await loadModelRegistry({
    modelsDir: testModelsDir,
    executionProviders: ['cuda', 'cpu'],
    logger: capturingLogger(),
  });
  direct = await ort.InferenceSession.create(join(testModelsDir, 'tiny-fusion', '1.0.0', 'model.onnx'), {
    executionProviders: ['cpu'],
  });
});
afterAll(async () => {
  await direct.release();
});

function engine(overrides: Partial<Parameters<typeof createInferenceEngine>[0]> = {}): InferenceEngine {
  return createInferenceEngine({
    registry,
    threads: 1,
    maxBatchSize: 256,
    maxQueueDelayMs: 20,
    queueLimit: 100,
    logger: capturingLogger(),
    ...overrides,
  });
}

describe('inference engine', () => {
  it('answers 16 concurrent patients from fewer batched runs, each equal to its own single run (1e-6)', async () => {
    const metrics = createInferenceMetrics(new Registry());
    const batched = engine({ threads: 2, maxQueueDelayMs: 50, metrics });
    const unbatched = engine({ maxBatchSize: 1, maxQueueDelayMs: 0 });
    try {
      await Promise.all([batched.ready(), unbatched.ready()]);
      const patients = Array.from({ length: 16 }, (_, i) =>
        fusionPatient(i, { image: i % 3 !== 0, missingFeature: i % 5 === 0 ? 1 : undefined }),
      );
      const metaOf = (i: number) => ({ presence: { tabular: true, image: i % 3 !== 0 } });
      const results = await Promise.all(
        patients.map((t, i) => batched.infer('tiny-fusion', '1.0.0', t, metaOf(i))),
      );
      const stats = batched.stats();
      expect(stats.requests).toBe(16);
      expect(stats.batches).toBeLessThan(16);
      const rowsHistogram = await metrics.batchRequests.get();
      expect(
        rowsHistogram.values.find((v) => v.metricName === 'fhir_fusion_inference_batch_requests_count')
          ?.value,
      ).toBe(stats.batches);

      for (const [i, tensors] of patients.entries()) {
        const reference = await singleRun(tensors);
        const result = results[i]!;
        expect(result.executionProvider).toBe('cpu');
        result.predictions.forEach((p, k) =>
          expect(Math.abs(p.probability - reference[k]!)).toBeLessThan(1e-6),
        );
        // And the explanations match an engine that never batches (one run per request, rows of one patient only).
        const alone: InferenceOutput = await unbatched.infer('tiny-fusion', '1.0.0', tensors, metaOf(i));
        expect(alone.modalityContributions.map((c) => c.modality)).toEqual(
          result.modalityContributions.map((c) => c.modality),
        );
        alone.modalityContributions.forEach((c, k) =>
          c.delta.forEach((d, o) =>
            expect(Math.abs(d - result.modalityContributions[k]!.delta[o]!)).toBeLessThan(1e-6),
          ),
        );
        expect(alone.featureContributions.map((f) => f.feature)).toEqual(
          result.featureContributions.map((f) => f.feature),
        );
      }
      expect(unbatched.stats().batches).toBe(16);
    } finally {
      await Promise.all([batched.close(), unbatched.close()]);
    }
  });

  it('explains: the image, which carries signal, gets its exact Shapley value from the masked runs', async () => {
    const e = engine();
    try {
      const tensors = fusionPatient(3);
      const result = await e.infer('tiny-fusion', undefined, tensors, { presence });
      const image = result.modalityContributions.find((c) => c.modality === 'image');
      expect(image).toBeDefined();
      expect(Math.max(...image!.delta.map(Math.abs))).toBeGreaterThan(1e-3);
      // Coalitions: a modality masked is the patient with its tensors zeroed and modality_mask entry 0.
      const masking = (tabular: boolean, img: boolean): Record<string, TensorData> => {
        const t = fusionPatient(3);
        if (tabular) {
          (t.tabular_values!.data as Float32Array).fill(0);
          (t.tabular_mask!.data as Float32Array).fill(0);
          t.modality_mask!.data[0] = 0;
        }
        if (img) {
          (t.image!.data as Float32Array).fill(0);
          t.modality_mask!.data[2] = 0;
        }
        return t;
      };
      const full = await singleRun(tensors);
      const noImage = await singleRun(masking(false, true));
      const noTabular = await singleRun(masking(true, false));
      const none = await singleRun(masking(true, true));
      // Two players: φ_image = ½(v(image) − v(∅)) + ½(v(all) − v(tabular)).
      image!.delta.forEach((d, k) =>
        expect(Math.abs(d - (0.5 * (noTabular[k]! - none[k]!) + 0.5 * (full[k]! - noImage[k]!)))).toBeLessThan(1e-6),
      );
      expect(result.featureContributions.length).toBeGreaterThan(0);
      expect(result.featureContributions.length).toBeLessThanOrEqual(5);
      expect(result.predictions.map((p) => p.qualitativeRisk)).toEqual(
        result.predictions.map((p) =>
          p.probability >= 0.5
            ? 'high'
            : p.probability >= 0.2
              ? 'moderate'
              : p.probability >= 0.05
                ? 'low'
                : 'negligible',
        ),
      );
    } finally {
      await e.close();
    }
  });

  it('zeroes the inputs of a model without a modality-mask when explaining', async () => {
    const e = engine();
    try {
      const values = new Float32Array([1.5, -0.5, 2, 1]);
      const tensors: Record<string, TensorData> = {
        tabular_values: { dtype: 'float32', dims: [1, 4], data: values },
        tabular_mask: { dtype: 'float32', dims: [1, 4], data: new Float32Array([1, 1, 1, 1]) },
      };
      const result = await e.infer('tiny-logistic', '1.0.0', tensors, { presence: { tabular: true } });
      // sigmoid(w . v + b) with the fixture's fixed weights; all-zero input gives sigmoid(b).
      const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
      const w = [0.9, 1.3, 0.7, -0.4];
      const p = sigmoid(w.reduce((s, wi, k) => s + wi * values[k]!, -1.2));
      expect(result.predictions[0]!.probability).toBeCloseTo(p, 6);
      expect(result.modalityContributions).toEqual([
        { modality: 'tabular', delta: [expect.closeTo(p - sigmoid(-1.2), 6)] },
      ]);
      const creatinine = result.featureContributions.find((f) => f.feature === 'creatinine');
      expect(creatinine?.delta[0]).toBeCloseTo(
        p - sigmoid(w.reduce((s, wi, k) => s + (k === 1 ? 0 : wi * values[k]!), -1.2)),
        6,
      );
      expect(creatinine?.value).toBeCloseTo(-0.5 * 0.4 + 1.0, 6);
    } finally {
      await e.close();
    }
  });

  it('refuses beyond the queue limit with InferenceQueueFull, and close() drains what was accepted', async () => {
    const e = engine({ queueLimit: 2, maxQueueDelayMs: 60_000 });
    await e.ready();
    const accepted = [
      e.infer('tiny-fusion', '1.0.0', fusionPatient(1), { presence }),
      e.infer('tiny-fusion', '1.0.0', fusionPatient(2), { presence }),
    ];
    await expect(e.infer('tiny-fusion', '1.0.0', fusionPatient(3), { presence })).rejects.toBeInstanceOf(
      InferenceQueueFull,
    );
    // The queue delay is a minute: only the drain on close() makes these finish now.
    await e.close();
    const done = await Promise.all(accepted);
    expect(done).toHaveLength(2);
    expect(e.stats()).toMatchObject({ batches: 1, requests: 2 });
    await expect(e.infer('tiny-fusion', '1.0.0', fusionPatient(4), { presence })).rejects.toBeInstanceOf(
      InferenceEngineClosed,
    );
  });

  it('names the model or tensor for bad requests', async () => {
    const e = engine();
    try {
      await expect(e.infer('nope', undefined, fusionPatient(0), { presence })).rejects.toBeInstanceOf(
        ModelNotFoundError,
      );
      const bad = fusionPatient(0);
      bad.image = { dtype: 'float32', dims: [1, 1, 4, 4], data: new Float32Array(16) };
      await expect(e.infer('tiny-fusion', '1.0.0', bad, { presence })).rejects.toMatchObject({
        name: 'InferenceInputError',
        tensor: 'image',
      });
      await expect(e.infer('tiny-fusion', '1.0.0', bad, { presence })).rejects.toBeInstanceOf(
        InferenceInputError,
      );
    } finally {
      await e.close();
    }
  });

  it("does not detach or change the caller's arrays", async () => {
    const e = engine();
    try {
      const tensors = fusionPatient(5);
      const before = Array.from(tensors.image!.data as Float32Array);
      await e.infer('tiny-fusion', '1.0.0', tensors, { presence });
      expect(Array.from(tensors.image!.data as Float32Array)).toEqual(before);
    } finally {
      await e.close();
    }
  });
});
