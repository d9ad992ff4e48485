import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelRegistryError } from '../../../src/inference/runtime/inference-errors.js';
import { loadEmbeddingModel } from '../../../src/similar-cases/embedding-model.js';

const MODEL_DIR = resolve('models/ecg-report-clip/1');

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
