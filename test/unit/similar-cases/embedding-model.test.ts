import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseNpy } from '../../../src/inference/manifest/npy-format.js';
import { ModelRegistryError } from '../../../src/inference/runtime/inference-errors.js';
import { loadEmbeddingModel } from '../../../src/similar-cases/embedding-model.js';

const MODEL_DIR = resolve('models/ecg-report-clip/1');
/** Version 2: the ViT over the rendered 12-lead ECG image (issue 20). */
const VIT_DIR = resolve('models/ecg-report-clip/2');

/**
 * A copy of the shipped model (synthetic training data) in `<tmp>/ecg-report-clip/1`, with `edit`
 * applied to one file and the manifest's sha256 for it updated, so only the check under test fails.
 */
function copyWith(file: string, edit: (bytes: Buffer) => Buffer, rehash = true): string {
  const root = mkdtempSync(join(tmpdir(), 'embedding-model-'));
  roots.push(root);
  const dir = join(root, 'ecg-report-clip', '1');
  cpSync(MODEL_DIR, dir, { recursive: true });
  writeFileSync(join(dir, file), edit(readFileSync(join(dir, file))));
  if (rehash) {
    const manifestPath = join(dir, 'embedding-manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.files[file] = createHash('sha256')
      .update(readFileSync(join(dir, file)))
      .digest('hex');
    writeFileSync(manifestPath, JSON.stringify(manifest));
  }
  return dir;
}
const roots: string[] = [];
afterEach(() => roots.splice(0).forEach((root) => rmSync(root, { recursive: true, force: true })));

describe('the embedding model is verified by the inference registry’s checks', () => {
  it('refuses a folder whose golden text embedding differs from what ONNX Runtime computes', async () => {
    // The last float32 of the golden array, moved well past the tolerance.
    const dir = copyWith('golden-output-text_embedding.npy', (bytes) => {
      const copy = Buffer.from(bytes);
      const at = copy.length - 4;
      copy.writeFloatLE(copy.readFloatLE(at) + 0.5, at);
      return copy;
    });
    const error = await loadEmbeddingModel(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelRegistryError);
    expect(error).toMatchObject({
      model: 'ecg-report-clip',
      version: '1',
      subject: 'golden-output-text_embedding.npy',
    });
    expect((error as Error).message).toMatch(/expected .*, model gives/);
  });

  it('refuses an encoder whose bytes do not match the manifest’s sha256, naming the file', async () => {
    const dir = copyWith('ecg-encoder.onnx', (bytes) => Buffer.concat([bytes, Buffer.from([0])]), false);
    await expect(loadEmbeddingModel(dir)).rejects.toMatchObject({
      name: 'ModelRegistryError',
      subject: 'ecg-encoder.onnx',
    });
  });
});

describe('the ViT model reads the rendered ECG image (ecg-report-clip@2)', () => {
  it('loads, reproduces its golden embeddings through the worker and refuses a waveform', async () => {
    const model = await loadEmbeddingModel(VIT_DIR);
    try {
      expect(model.key).toBe('ecg-report-clip@2');
      expect(model.manifest.preprocessing.ecg).toMatchObject({
        representation: 'image',
        imageSize: [96, 128],
      });
      const input = parseNpy(readFileSync(join(VIT_DIR, 'golden-input-ecg_image.npy')));
      const expected = parseNpy(readFileSync(join(VIT_DIR, 'golden-output-ecg_embedding.npy')));
      const size = 96 * 128;
      const images = [0, 1, 2, 3].map((i) => (input.data as Float32Array).slice(i * size, (i + 1) * size));
      const embedded = await model.embedEcg(images);
      embedded.forEach((z, i) => {
        expect(Math.hypot(...z)).toBeCloseTo(1, 4);
        z.forEach((v, k) =>
          expect(Math.abs(v - (expected.data[i * model.dimension + k] as number))).toBeLessThan(1e-4),
        );
      });
      // Two different ECGs are two different points: the encoder does read the image.
      expect(embedded[0]!.reduce((s, v, k) => s + v * embedded[1]![k]!, 0)).toBeLessThan(0.999);
      await expect(model.embedEcg([new Float32Array(12 * 1000)])).rejects.toThrow(/needs 1×96×128/);
    } finally {
      await model.close();
    }
  });
});
