import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { parseNpy, type NpyArray } from '../../../src/inference/manifest/npy-format.js';
import { parseManifest } from '../../../src/inference/manifest/manifest-schema.js';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import { repoRoot } from '../../helpers/fixtures.js';

/** Every shipped model version folder: models/<name>/<version>/manifest.json. */
function shippedModels(): string[] {
  const modelsDir = join(repoRoot, 'models');
  const out: string[] = [];
  for (const name of readdirSync(modelsDir)) {
    if (name === 'training' || name.startsWith('.')) continue;
    const dir = join(modelsDir, name);
    for (const version of existsSync(dir) ? readdirSync(dir) : []) {
      if (existsSync(join(dir, version, 'manifest.json'))) out.push(join(dir, version));
    }
  }
  return out.sort();
}

function toTensor(array: NpyArray): ort.Tensor {
  if (array.data instanceof BigInt64Array) return new ort.Tensor('int64', array.data, array.shape);
  if (array.data instanceof Float32Array) return new ort.Tensor('float32', array.data, array.shape);
  throw new Error(`golden inputs are float32 or int64, got ${array.dtype}`);
}

const folders = shippedModels();

describe('shipped reference models', () => {
  it('includes the tabular model and both fusion models', () => {
    const names = folders.map((f) => f.split('/').slice(-2, -1)[0]);
    expect(names).toEqual(expect.arrayContaining(['tabular-risk', 'late-fusion', 'attention-fusion']));
  });

  describe.each(folders.map((f) => [f.split('/').slice(-2).join('/'), f] as const))('%s', (_label, folder) => {
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as ModelManifest;

    it('obeys the manifest schema', () => {
      const parsed = parseManifest(JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')));
      expect(parsed.ok ? [] : parsed.issues).toEqual([]);
    });

    it('lists every file with its sha256', () => {
      const present = readdirSync(folder).filter((f) => f !== 'manifest.json').sort();
      expect(Object.keys(manifest.files).sort()).toEqual(present);
      for (const [file, sha] of Object.entries(manifest.files)) {
        expect(createHash('sha256').update(readFileSync(join(folder, file))).digest('hex'), file).toBe(sha);
      }
    });

    it('says it is synthetic and not for clinical use', () => {
      expect(manifest.trainingData.synthetic).toBe(true);
      expect(manifest.description).toMatch(/synthetic/i);
      const card = readFileSync(join(folder, 'card.md'), 'utf8');
      expect(card).toMatch(/synthetic data/i);
      expect(card).toMatch(/not\s+for\s+clinical use/i);
    });

    it('reproduces the PyTorch golden outputs in onnxruntime-node to 1e-4', async () => {
      const session = await ort.InferenceSession.create(join(folder, 'model.onnx'));
      try {
        expect([...session.inputNames].sort()).toEqual(manifest.inputs.map((i) => i.name).sort());
        expect([...session.outputNames]).toEqual(manifest.outputs.map((o) => o.name));
        const feeds: Record<string, ort.Tensor> = {};
        for (const input of manifest.inputs) {
          const array = parseNpy(readFileSync(join(folder, `golden-input-${input.name}.npy`)));
          expect(array.shape.slice(1)).toEqual(input.shape.slice(1));
          feeds[input.name] = toTensor(array);
        }
        const expected = parseNpy(readFileSync(join(folder, 'golden-output-probabilities.npy')));
        const result = await session.run(feeds);
        const actual = result['probabilities'];
        expect(actual?.dims).toEqual(expected.shape);
        const got = actual?.data as Float32Array;
        const want = expected.data as Float32Array;
        for (let i = 0; i < want.length; i++) {
          expect(Math.abs((got[i] ?? Number.NaN) - (want[i] ?? Number.NaN)), `element ${i}`).toBeLessThan(1e-4);
        }
        expect(want.length).toBe(manifest.outcomes.length * (expected.shape[0] ?? 0));

        // The batch axis is dynamic: the last golden row alone gives the same probabilities.
        const rows = expected.shape[0] ?? 0;
        const k = manifest.outcomes.length;
        const single: Record<string, ort.Tensor> = {};
        for (const [name, tensor] of Object.entries(feeds)) {
          const per = tensor.size / rows;
          const sliced = (tensor.data as Float32Array | BigInt64Array).slice((rows - 1) * per, rows * per);
          const dims = [1, ...tensor.dims.slice(1)];
          single[name] = sliced instanceof BigInt64Array ? new ort.Tensor('int64', sliced, dims) : new ort.Tensor('float32', sliced, dims);
        }
        const one = (await session.run(single))['probabilities']?.data as Float32Array;
        expect(one.length).toBe(k);
        for (let j = 0; j < k; j++) expect(Math.abs((one[j] ?? Number.NaN) - (want[(rows - 1) * k + j] ?? Number.NaN))).toBeLessThan(1e-4);
      } finally {
        await session.release();
      }
    });
  });
});
