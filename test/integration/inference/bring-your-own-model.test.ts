import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PatientRecord } from '../../../src/contracts/patient-record.js';
import type { TensorData } from '../../../src/inference/manifest/tensor-data.js';
import {
  createInferenceEngine,
  type InferenceEngine,
} from '../../../src/inference/runtime/inference-engine.js';
import { loadModelRegistry, type ModelRegistry } from '../../../src/inference/runtime/model-registry.js';
import { preprocessRecord, type PreprocessedRecord } from '../../../src/preprocess/preprocess-record.js';
import { createUcumConverter } from '../../../src/preprocess/tabular/unit-conversion.js';
import { generateCohort } from '../../../src/sandbox/cohort/index.js';
import { recordFromGenerated } from '../../../models/training/export-features.js';
import { capturingLogger } from '../../fixtures/models/model-fixtures.js';
import { repoRoot } from '../../helpers/fixtures.js';

/**
 * Issue 19 point 6, bring your own model: the two folders `models/training/byo_example.py` wrote
 * (test/fixtures/byo-models: a torchvision ShuffleNetV2 on the radiograph, and a WordPiece text model
 * with attention mask and token types; both UNTRAINED, random weights, outputs meaningless) are served
 * through the same registry checks, worker threads and batcher as the shipped models, on patients of
 * the synthetic sandbox cohort. No code knows these models: only their manifests.
 */
const modelsDir = join(repoRoot, 'test', 'fixtures', 'byo-models');
const now = new Date('2026-01-15T12:00:00Z');
const convertUnit = createUcumConverter();

let registry: ModelRegistry;
let engine: InferenceEngine;
let records: PatientRecord[];
const sessions = new Map<string, ort.InferenceSession>();

beforeAll(async () => {
  registry = await loadModelRegistry({
    modelsDir,
    active: ['shufflenet-cxr@1', 'wordpiece-text@1'],
    executionProviders: ['cpu'],
    logger: capturingLogger(),
  });
  engine = createInferenceEngine({
    registry,
    threads: 1,
    maxBatchSize: 64,
    maxQueueDelayMs: 5,
    queueLimit: 50,
    logger: capturingLogger(),
  });
  for (const m of registry.list()) sessions.set(m.name, await ort.InferenceSession.create(m.modelPath));
  const patients = [
    ...generateCohort({
      patients: 12,
      seed: 19_006,
      now,
      dicomwebBaseUrl: 'http://localhost/dicomweb',
      imageSize: 128,
    }),
  ];
  records = patients.map((p, i) => recordFromGenerated(p, i, now));
}, 120_000);

afterAll(async () => {
  await engine?.close();
  for (const s of sessions.values()) await s.release();
});

function preprocess(name: string, record: PatientRecord): PreprocessedRecord {
  const model = registry.get(name, '1')!;
  return preprocessRecord(record, model.manifest, model.dir, { convertUnit });
}

/** The model's raw output for one preprocessed patient, straight from ONNX Runtime (no worker, no batcher). */
async function direct(name: string, tensors: Record<string, TensorData>): Promise<number[]> {
  const feeds = Object.fromEntries(
    Object.entries(tensors).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data.slice(), t.dims)]),
  );
  return Array.from((await sessions.get(name)!.run(feeds)).probabilities!.data as Float32Array);
}

describe('bring your own model: the worked example served end to end (untrained examples, synthetic patients)', () => {
  it('passes every start-up check, golden tensors included', () => {
    expect(registry.list().map((m) => [m.key, m.golden])).toEqual([
      ['shufflenet-cxr@1', 'passed'],
      ['wordpiece-text@1', 'passed'],
    ]);
  });

  it('scores sandbox patients with the torchvision model, batched across patients, as ONNX Runtime does alone', async () => {
    const withImage = records.map((r) => preprocess('shufflenet-cxr', r)).filter((p) => p.presence.image);
    expect(withImage.length).toBeGreaterThan(2);
    const results = await Promise.all(
      withImage.map((p) => engine.infer('shufflenet-cxr', '1', p.tensors, { presence: p.presence })),
    );
    for (const [i, result] of results.entries()) {
      const expected = await direct('shufflenet-cxr', withImage[i]!.tensors);
      expect(result.predictions.map((p) => p.outcomeIndex)).toEqual([0, 1, 2]);
      result.predictions.forEach((p, k) => expect(Math.abs(p.probability - expected[k]!)).toBeLessThan(1e-5));
      expect(result.modalityContributions.map((c) => c.modality)).toEqual(['image']);
    }
  });

  it('feeds the WordPiece model [CLS] … [SEP] ids with a matching attention mask and zero token types', () => {
    const texts = records.map((r) => preprocess('wordpiece-text', r)).filter((p) => p.presence.text);
    expect(texts.length).toBeGreaterThan(2);
    for (const p of texts) {
      const ids = Array.from(p.tensors.input_ids!.data as BigInt64Array, Number);
      const mask = Array.from(p.tensors.attention_mask!.data as BigInt64Array, Number);
      const length = mask.filter((m) => m === 1).length;
      expect(p.tensors.input_ids!.dims).toEqual([1, 32]);
      expect(mask).toEqual([...Array(length).fill(1), ...Array(32 - length).fill(0)]);
      expect(ids[0]).toBe(2);
      expect(ids[length - 1]).toBe(3);
      expect(ids.slice(length).every((id) => id === 0)).toBe(true);
      expect(Array.from(p.tensors.token_type_ids!.data as BigInt64Array, Number).every((t) => t === 0)).toBe(
        true,
      );
    }
  });

  it('scores sandbox reports with the WordPiece model; the text contribution is f(report) − f(no report)', async () => {
    const texts = records.map((r) => preprocess('wordpiece-text', r)).filter((p) => p.presence.text);
    const results = await Promise.all(
      texts.map((p) => engine.infer('wordpiece-text', '1', p.tensors, { presence: p.presence })),
    );
    for (const [i, result] of results.entries()) {
      const tensors = texts[i]!.tensors;
      const all = await direct('wordpiece-text', tensors);
      // A missing report reaches the model as all-zero ids, mask and token types.
      const zeros = Object.fromEntries(
        Object.entries(tensors).map(([k, t]) => [
          k,
          { ...t, data: new BigInt64Array(t.data.length) } as TensorData,
        ]),
      );
      const none = await direct('wordpiece-text', zeros);
      result.predictions.forEach((p, k) => {
        expect(Math.abs(p.probability - all[k]!)).toBeLessThan(1e-5);
        expect(Math.abs(result.modalityContributions[0]!.delta[k]! - (all[k]! - none[k]!))).toBeLessThan(
          1e-5,
        );
      });
    }
  });
});
