import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceRunError, ModelRegistryError } from '../../../src/inference/runtime/inference-errors.js';
import { createInferenceEngine, type InferenceEngine } from '../../../src/inference/runtime/inference-engine.js';
import { connectKserveV2 } from '../../../src/inference/runtime/kserve-v2-backend.js';
import { loadModelRegistry, type ModelRegistry } from '../../../src/inference/runtime/model-registry.js';
import type { TensorData } from '../../../src/inference/manifest/tensor-data.js';
import { capturingLogger, testModelsDir } from '../../fixtures/models/model-fixtures.js';
import { startKserveV2TestServer, type KserveV2TestServer } from '../../helpers/kserve-v2-server.js';

/** tiny-fusion inputs for patient `i` (deterministic), batch axis 1. */
function patient(i: number): Record<string, TensorData> {
  const f = (k: number) => Math.sin(i * 12.9898 + k * 78.233) * 2;
  return {
    tabular_values: { dtype: 'float32', dims: [1, 4], data: Float32Array.from({ length: 4 }, (_, k) => f(k)) },
    tabular_mask: { dtype: 'float32', dims: [1, 4], data: new Float32Array([1, 1, 1, i % 2]) },
    image: { dtype: 'float32', dims: [1, 1, 8, 8], data: Float32Array.from({ length: 64 }, (_, k) => f(k + 10) / 2) },
    modality_mask: { dtype: 'float32', dims: [1, 4], data: new Float32Array([1, 0, 1, 0]) },
  };
}
const meta = { presence: { tabular: true, image: true } };

function engineOf(registry: ModelRegistry, remoteUrl?: string): InferenceEngine {
  return createInferenceEngine({
    registry,
    threads: 1,
    maxBatchSize: 32,
    maxQueueDelayMs: 5,
    queueLimit: 100,
    logger: capturingLogger(),
    ...(remoteUrl
      ? { remote: { executionProvider: 'kserve-v2', connect: (models) => connectKserveV2({ baseUrl: remoteUrl, models, timeoutMs: 10_000 }) } }
      : {}),
  });
}

describe('KServe V2 (Triton HTTP) remote inference backend', () => {
  let server: KserveV2TestServer;
  let registry: ModelRegistry;
  let local: InferenceEngine;

  beforeAll(async () => {
    server = await startKserveV2TestServer(testModelsDir);
    registry = await loadModelRegistry({ modelsDir: testModelsDir, executionProviders: ['cpu'], logger: capturingLogger() });
    local = engineOf(registry);
    await local.ready();
  });
  afterAll(async () => {
    await local?.close();
    await server?.close();
  });

  it('gives the same probabilities and explanations as the local engine, batched across patients', async () => {
    const remote = engineOf(registry, server.url);
    await remote.ready();
    try {
      const patients = Array.from({ length: 12 }, (_, i) => patient(i));
      const [fromRemote, fromLocal] = await Promise.all([
        Promise.all(patients.map((t) => remote.infer('tiny-fusion', undefined, t, meta))),
        Promise.all(patients.map((t) => local.infer('tiny-fusion', undefined, t, meta))),
      ]);
      fromRemote.forEach((r, i) => {
        const l = fromLocal[i]!;
        expect(r.executionProvider).toBe('kserve-v2');
        r.predictions.forEach((p, k) => expect(Math.abs(p.probability - l.predictions[k]!.probability)).toBeLessThan(1e-6));
        expect(r.modalityContributions.map((c) => c.modality)).toEqual(l.modalityContributions.map((c) => c.modality));
      });
      // Patients were batched: fewer HTTP inference calls than patients.
      const calls = server.inferCount.get('tiny-fusion/1.0.0') ?? 0;
      expect(calls).toBeGreaterThan(0);
      expect(calls).toBeLessThan(patients.length);
    } finally {
      await remote.close();
    }
  });

  it('refuses to start when the server serves a graph whose tensors differ from the manifest, naming them', async () => {
    server.tamper((key, m) => (key === 'tiny-fusion/1.0.0' ? { ...m, inputs: m.inputs.map((t) => (t.name === 'image' ? { ...t, name: 'pixels' } : t)) } : m));
    const remote = engineOf(registry, server.url);
    try {
      const failure = await remote.ready().then(() => undefined, (e: unknown) => e);
      expect(failure).toBeInstanceOf(ModelRegistryError);
      expect((failure as Error).message).toMatch(/tiny-fusion@1\.0\.0.*input 'image' is not served/);
    } finally {
      server.tamper(undefined);
      await remote.close();
    }
    server.tamper((key, m) => (key === 'tiny-logistic/1.0.0' ? { ...m, outputs: m.outputs.map((t) => ({ ...t, datatype: 'FP64' })) } : m));
    const second = engineOf(registry, server.url);
    try {
      await expect(second.ready()).rejects.toThrow(/tiny-logistic@1\.0\.0.*output 'probabilities' is FP64 on the server, FP32 in the manifest/);
    } finally {
      server.tamper(undefined);
      await second.close();
    }
  });

  it('turns a failing or unreachable server into a retryable InferenceRunError', async () => {
    const remote = engineOf(registry, server.url);
    await remote.ready();
    try {
      server.failInference(503);
      await expect(remote.infer('tiny-fusion', undefined, patient(1), meta)).rejects.toBeInstanceOf(InferenceRunError);
      server.failInference(undefined);
      await expect(remote.infer('tiny-fusion', undefined, patient(1), meta)).resolves.toMatchObject({ executionProvider: 'kserve-v2' });
    } finally {
      await remote.close();
    }
    const nowhere = engineOf(registry, 'http://127.0.0.1:9');
    await expect(nowhere.ready()).rejects.toThrow(/unreachable/);
    await nowhere.close();
  });
});
