import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrateProbability } from '../../../src/inference/manifest/calibration.js';
import { createInferenceEngine, type InferenceEngine } from '../../../src/inference/runtime/inference-engine.js';
import { MODALITY_ORDER, type ModalityName } from '../../../src/contracts/manifest-types.js';
import { loadModelRegistry, type ModelRegistry } from '../../../src/inference/runtime/model-registry.js';
import { readNpyTensor } from '../../../src/inference/manifest/npy-format.js';
import type { TensorArray, TensorData } from '../../../src/inference/manifest/tensor-data.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { capturingLogger, testModelsDir } from '../../fixtures/models/model-fixtures.js';

/**
 * Every model the repository ships (models/, else the tiny test models) answered through the whole
 * engine path — validation, explanation rows, batching across patients, worker threads — must
 * reproduce the training framework's golden outputs for each golden patient.
 */
const shipped = join(repoRoot, 'models');
const hasShippedModels =
  existsSync(shipped) &&
  readdirSync(shipped).some(
    (name) =>
      existsSync(join(shipped, name)) &&
      readdirSync(join(shipped, name)).some((v) => existsSync(join(shipped, name, v, 'manifest.json'))),
  );
const modelsDir = hasShippedModels ? shipped : testModelsDir;

let registry: ModelRegistry;
let engine: InferenceEngine;
beforeAll(async () => {
  registry = await loadModelRegistry({ modelsDir, executionProviders: ['cpu'], logger: capturingLogger() });
  engine = createInferenceEngine({
    registry,
    threads: 2,
    maxBatchSize: 128,
    maxQueueDelayMs: 10,
    queueLimit: 1000,
    logger: capturingLogger(),
  });
  await engine.ready();
});
afterAll(async () => {
  await engine?.close();
});

function npy(dir: string, file: string): TensorData {
  return readNpyTensor(readFileSync(join(dir, file)));
}

/** Row `r` of a batched tensor, as a batch-1 tensor. */
function row(t: TensorData, r: number): TensorData {
  const width = t.dims.slice(1).reduce((n, d) => n * d, 1);
  return {
    dtype: t.dtype,
    dims: [1, ...t.dims.slice(1)],
    data: t.data.slice(r * width, (r + 1) * width) as TensorArray,
  };
}

describe(`golden tensors through the engine (${hasShippedModels ? 'models/' : 'test models'})`, () => {
  it('reproduces every golden output of every model with patients batched together', async () => {
    const models = registry.list().filter((m) => m.golden === 'passed');
    expect(models.length).toBeGreaterThan(0);
    for (const model of models) {
      const inputs = Object.fromEntries(
        model.manifest.inputs.map((i) => [i.name, npy(model.dir, `golden-input-${i.name}.npy`)]),
      );
      const probabilities = model.manifest.outputs.find((o) => o.role === 'probabilities')!;
      const golden = npy(model.dir, `golden-output-${probabilities.name}.npy`);
      const rows = golden.dims[0] ?? 0;
      const width = golden.dims[1] ?? 1;
      const modalityMask = model.manifest.inputs.find((i) => i.role === 'modality-mask');
      const answers = await Promise.all(
        Array.from({ length: rows }, (_, r) => {
          const tensors = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, row(t, r)]));
          const presence = Object.fromEntries(
            MODALITY_ORDER.map((m, k) => [
              m,
              modalityMask ? Number(tensors[modalityMask.name]!.data[k]) !== 0 : true,
            ]),
          ) as Record<ModalityName, boolean>;
          return engine.infer(model.name, model.version, tensors, { presence });
        }),
      );
      answers.forEach((answer, r) => {
        model.manifest.outcomes.forEach((outcome, k) => {
          const expected = calibrateProbability(
            Number(golden.data[r * width + outcome.index]),
            outcome.calibration,
          );
          const got = answer.predictions[k]!.probability;
          expect(Math.abs(got - expected), `${model.key} row ${r} outcome ${k}`).toBeLessThanOrEqual(
            1e-4 + 1e-3 * Math.abs(expected),
          );
        });
      });
    }
  });
});
