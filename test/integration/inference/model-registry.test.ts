import { createHash } from 'node:crypto';
import { appendFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelRegistryError } from '../../../src/inference/runtime/inference-errors.js';
import { createInferenceMetrics } from '../../../src/inference/runtime/inference-metrics.js';
import { loadModelRegistry } from '../../../src/inference/runtime/model-registry.js';
import {
  capturingLogger,
  copyTestModels,
  editManifest,
  testModelsDir,
} from '../../fixtures/models/model-fixtures.js';

let repo: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  repo = await copyTestModels();
});
afterEach(async () => {
  await repo.cleanup();
});

async function refusal(load: Promise<unknown>): Promise<ModelRegistryError> {
  try {
    await load;
  } catch (error) {
    if (error instanceof ModelRegistryError) return error;
    throw error;
  }
  throw new Error('expected the registry to refuse to start');
}

describe('loadModelRegistry', () => {
  it('loads every version in the repository, verified and warmed up, on the CPU provider', async () => {
    const logger = capturingLogger();
    const registry = await loadModelRegistry({
      modelsDir: testModelsDir,
      executionProviders: ['cpu'],
      logger,
    });
    expect(registry.list().map((m) => m.key)).toEqual(['tiny-fusion@1.0.0', 'tiny-logistic@1.0.0']);
    const model = registry.get('tiny-logistic');
    expect(model).toMatchObject({ name: 'tiny-logistic', version: '1.0.0', executionProvider: 'cpu' });
    expect(model?.modelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(registry.get('tiny-logistic', '9.9.9')).toBeUndefined();
    expect(logger.lines.filter((l) => l.message.includes('warmed up'))).toHaveLength(2);
  });

  it("falls back from 'cuda' to 'cpu' on a machine without CUDA, logs the reason once and records the provider", async () => {
    const logger = capturingLogger();
    const metrics = createInferenceMetrics(new Registry());
    const registry = await loadModelRegistry({
      modelsDir: testModelsDir,
      executionProviders: ['cuda', 'cpu'],
      logger,
      metrics,
    });
    expect(registry.list().map((m) => m.executionProvider)).toEqual(['cpu', 'cpu']);
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toMatchObject({
      executionProvider: 'cuda',
      reason: expect.stringMatching(/.+/),
    });
    const gauge = await metrics.modelInfo.get();
    expect(gauge.values.map((v) => v.labels)).toContainEqual({
      model: 'tiny-fusion',
      version: '1.0.0',
      execution_provider: 'cpu',
    });
  });

  it('serves only the active versions asked for and refuses an unknown one by name', async () => {
    const registry = await loadModelRegistry({
      modelsDir: testModelsDir,
      active: ['tiny-fusion@1.0.0'],
      executionProviders: ['cpu'],
      logger: capturingLogger(),
    });
    expect(registry.list().map((m) => m.key)).toEqual(['tiny-fusion@1.0.0']);
    const error = await refusal(
      loadModelRegistry({
        modelsDir: testModelsDir,
        active: ['tiny-fusion@2.0.0'],
        executionProviders: ['cpu'],
        logger: capturingLogger(),
      }),
    );
    expect(error.message).toMatch(
      /'tiny-fusion@2\.0\.0' not found .*available: tiny-fusion@1\.0\.0, tiny-logistic@1\.0\.0/,
    );
  });

  it('serves several versions of one model at once, the highest by default', async () => {
    const v2 = join(repo.dir, 'tiny-logistic', '1.10.0');
    await cp(join(repo.dir, 'tiny-logistic', '1.0.0'), v2, { recursive: true });
    const manifest = JSON.parse(await readFile(join(v2, 'manifest.json'), 'utf8')) as { version: string };
    manifest.version = '1.10.0';
    await writeFile(join(v2, 'manifest.json'), JSON.stringify(manifest));
    const registry = await loadModelRegistry({
      modelsDir: repo.dir,
      executionProviders: ['cpu'],
      logger: capturingLogger(),
    });
    expect(registry.list().map((m) => m.key)).toEqual([
      'tiny-fusion@1.0.0',
      'tiny-logistic@1.0.0',
      'tiny-logistic@1.10.0',
    ]);
    expect(registry.get('tiny-logistic')?.version).toBe('1.10.0');
    expect(registry.get('tiny-logistic', '1.0.0')?.version).toBe('1.0.0');
  });

  it('refuses to start on a corrupted model file, with the hash mismatch', async () => {
    await appendFile(join(repo.dir, 'tiny-fusion', '1.0.0', 'model.onnx'), Buffer.from([0]));
    const error = await refusal(
      loadModelRegistry({ modelsDir: repo.dir, executionProviders: ['cpu'], logger: capturingLogger() }),
    );
    expect(error).toMatchObject({ model: 'tiny-fusion', version: '1.0.0', subject: 'model.onnx' });
    expect(error.message).toMatch(
      /^model tiny-fusion@1\.0\.0: model\.onnx: sha256 mismatch: manifest says [0-9a-f]{64}, file is [0-9a-f]{64}$/,
    );
  });

  it('refuses a corrupted secondary file listed in the manifest', async () => {
    await appendFile(join(repo.dir, 'tiny-logistic', '1.0.0', 'card.md'), 'edited\n');
    const error = await refusal(
      loadModelRegistry({ modelsDir: repo.dir, executionProviders: ['cpu'], logger: capturingLogger() }),
    );
    expect(error.message).toMatch(/^model tiny-logistic@1\.0\.0: card\.md: sha256 mismatch/);
  });

  it('refuses a manifest naming a tensor the graph lacks, naming it and the graph inputs', async () => {
    await editManifest(repo.dir, 'tiny-fusion', (m) => {
      m.inputs[2]!.name = 'pixels';
    });
    const error = await refusal(
      loadModelRegistry({ modelsDir: repo.dir, executionProviders: ['cpu'], logger: capturingLogger() }),
    );
    expect(error.subject).toBe("manifest input 'pixels'");
    expect(error.message).toContain(
      "manifest input 'pixels': not in graph (graph inputs: tabular_values, tabular_mask, image, modality_mask)",
    );
  });

  it('refuses a dtype or static-dim mismatch with the exact difference', async () => {
    await editManifest(repo.dir, 'tiny-fusion', (m) => {
      m.inputs[2]!.shape = [-1, 1, 16, 16];
      m.inputs[2]!.dtype = 'int64';
    });
    const error = await refusal(
      loadModelRegistry({ modelsDir: repo.dir, executionProviders: ['cpu'], logger: capturingLogger() }),
    );
    expect(error.message).toContain(
      "manifest input 'image': dtype int64 in manifest, float32 in graph; manifest input 'image': axis 2 is 16 in manifest, 8 in graph",
    );
  });

  it('refuses an invalid manifest with the JSON pointer, and a folder/manifest version disagreement', async () => {
    await editManifest(repo.dir, 'tiny-logistic', (m) => {
      (m.outcomes[0] as { index: unknown }).index = 'zero';
    });
    const error = await refusal(
      loadModelRegistry({ modelsDir: repo.dir, executionProviders: ['cpu'], logger: capturingLogger() }),
    );
    expect(error.message).toMatch(
      /^model tiny-logistic@1\.0\.0: manifest\.json: \/outcomes\/0\/index must be integer/,
    );
    await editManifest(repo.dir, 'tiny-logistic', (m) => {
      m.outcomes[0]!.index = 0;
      m.version = '1.0.1';
    });
    const second = await refusal(
      loadModelRegistry({ modelsDir: repo.dir, executionProviders: ['cpu'], logger: capturingLogger() }),
    );
    expect(second.message).toContain("/version is '1.0.1' but the folder is '1.0.0'");
  });

  it('re-runs the golden tensors and refuses a model whose outputs differ from them', async () => {
    const registry = await loadModelRegistry({
      modelsDir: repo.dir,
      executionProviders: ['cpu'],
      logger: capturingLogger(),
    });
    expect(registry.list().map((m) => m.golden)).toEqual(['passed', 'passed']);
    // Another model's golden output, hash updated so only the maths can disagree.
    const dir = join(repo.dir, 'tiny-fusion', '1.0.0');
    const other = await readFile(join(repo.dir, 'tiny-logistic', '1.0.0', 'golden-output-probabilities.npy'));
    await writeFile(join(dir, 'golden-output-probabilities.npy'), other);
    await editManifest(repo.dir, 'tiny-fusion', (m) => {
      m.files['golden-output-probabilities.npy'] = createHash('sha256').update(other).digest('hex');
    });
    const error = await refusal(
      loadModelRegistry({ modelsDir: repo.dir, executionProviders: ['cpu'], logger: capturingLogger() }),
    );
    expect(error.message).toMatch(
      /^model tiny-fusion@1\.0\.0: golden-output-probabilities\.npy: shape \[3, 1\] expected, model gives \[3, 2\]$/,
    );
  });

  it('verify() re-checks the files after start-up and reports tampering per model', async () => {
    const registry = await loadModelRegistry({
      modelsDir: repo.dir,
      executionProviders: ['cpu'],
      logger: capturingLogger(),
    });
    expect((await registry.verify()).ok).toBe(true);
    await appendFile(join(repo.dir, 'tiny-logistic', '1.0.0', 'model.onnx'), Buffer.from([1]));
    const report = await registry.verify();
    expect(report.ok).toBe(false);
    expect(report.models).toEqual([
      { key: 'tiny-fusion@1.0.0', ok: true, problems: [] },
      {
        key: 'tiny-logistic@1.0.0',
        ok: false,
        problems: [expect.stringMatching(/model\.onnx: sha256 mismatch/)],
      },
    ]);
  });

  it('ignores folders without a manifest (models/training) and refuses an empty repository', async () => {
    await mkdir(join(repo.dir, 'training', 'scripts'), { recursive: true });
    const registry = await loadModelRegistry({
      modelsDir: repo.dir,
      executionProviders: ['cpu'],
      logger: capturingLogger(),
    });
    expect(registry.list()).toHaveLength(2);
    const empty = join(repo.dir, 'training');
    const error = await refusal(
      loadModelRegistry({ modelsDir: empty, executionProviders: ['cpu'], logger: capturingLogger() }),
    );
    expect(error.message).toMatch(/no model versions found/);
  });
});
