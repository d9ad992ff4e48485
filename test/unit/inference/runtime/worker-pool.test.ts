import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../../src/contracts/manifest-types.js';
import { createWorkerPool, inferenceWorkerEntry } from '../../../../src/inference/runtime/worker-pool.js';
import { capturingLogger, testModelsDir } from '../../../fixtures/models/model-fixtures.js';

const dir = join(testModelsDir, 'tiny-logistic', '1.0.0');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;

describe('inferenceWorkerEntry', () => {
  it('boots the .ts worker through tsx from source and uses the .js sibling when compiled', () => {
    const fromSource = inferenceWorkerEntry('file:///app/src/inference/worker-pool.ts');
    expect(fromSource.kind).toBe('eval');
    if (fromSource.kind === 'eval') {
      expect(fromSource.code).toContain('tsImport');
      expect(fromSource.code).toContain('file:///app/src/inference/inference-worker.ts');
    }
    expect(inferenceWorkerEntry('file:///app/dist/src/inference/worker-pool.js')).toEqual({
      kind: 'file',
      url: new URL('file:///app/dist/src/inference/inference-worker.js'),
    });
  });
});

describe('createWorkerPool (worker threads started from vitest through tsx)', () => {
  it('runs a batch in a worker, transferring the feed buffers instead of copying them', async () => {
    const pool = await createWorkerPool({
      size: 2,
      logger: capturingLogger(),
      models: [
        {
          key: 'tiny-logistic@1.0.0',
          modelPath: join(dir, 'model.onnx'),
          executionProvider: 'cpu',
          inputs: manifest.inputs,
        },
      ],
    });
    try {
      const values = new Float32Array([1, 0, 0, 0, 0, 0, 0, 0]);
      const mask = new Float32Array(8).fill(1);
      const result = await pool.run('tiny-logistic@1.0.0', {
        tabular_values: { dtype: 'float32', dims: [2, 4], data: values },
        tabular_mask: { dtype: 'float32', dims: [2, 4], data: mask },
      });
      // Transferred: the main thread's buffers are detached.
      expect(values.byteLength).toBe(0);
      const p = result.outputs.probabilities!;
      expect(p.dims).toEqual([2, 1]);
      const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
      expect(p.data[0]).toBeCloseTo(sigmoid(0.9 - 1.2), 6);
      expect(p.data[1]).toBeCloseTo(sigmoid(-1.2), 6);
      await expect(pool.run('unknown@1', {})).rejects.toThrow(/not loaded in this worker/);
    } finally {
      await pool.close();
    }
  });

  it('fails to start, with the reason, when a worker cannot open its model', async () => {
    await expect(
      createWorkerPool({
        size: 1,
        logger: capturingLogger(),
        models: [
          { key: 'x@1', modelPath: join(dir, 'card.md'), executionProvider: 'cpu', inputs: manifest.inputs },
        ],
      }),
    ).rejects.toThrow(/inference worker failed to start/);
  });
});
