import { createHash } from 'node:crypto';
import { appendFile, cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyModels } from '../../../src/cli/models-command.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { EmbeddingModelManifest } from '../../../src/inference/manifest/embedding-manifest.js';
import { capturingLogger, copyTestModels } from '../../fixtures/models/model-fixtures.js';
import { repoRoot } from '../../helpers/fixtures.js';

// The similar-case model shipped in the repo (trained on synthetic data), copied beside the tiny
// risk models so it can be tampered with.
const CLIP = join(repoRoot, 'models', 'ecg-report-clip', '1');

let repo: { dir: string; cleanup: () => Promise<void> };
let clip: string;
beforeEach(async () => {
  repo = await copyTestModels();
  clip = join(repo.dir, 'ecg-report-clip', '1');
  await cp(CLIP, clip, { recursive: true });
});
afterEach(async () => {
  await repo.cleanup();
});

function verify(settings: Record<string, string> = {}) {
  const config = loadConfig({
    FHIR_BASE_URL: 'http://unused.invalid/fhir',
    MODELS_DIR: repo.dir,
    SIMILAR_CASES_MODEL: 'ecg-report-clip@1',
    ...settings,
  });
  return verifyModels(config, capturingLogger());
}

/** Rewrites a file of the copied embedding model and its sha256 in the manifest, so only deeper checks can notice. */
async function rewriteListed(file: string, edit: (bytes: Buffer) => Buffer): Promise<void> {
  const bytes = edit(await readFile(join(clip, file)));
  await writeFile(join(clip, file), bytes);
  await editEmbeddingManifest((m) => {
    m.files[file] = createHash('sha256').update(bytes).digest('hex');
  });
}

async function editEmbeddingManifest(edit: (manifest: EmbeddingModelManifest) => void): Promise<void> {
  const path = join(clip, 'embedding-manifest.json');
  const manifest = JSON.parse(await readFile(path, 'utf8')) as EmbeddingModelManifest;
  edit(manifest);
  await writeFile(path, JSON.stringify(manifest, null, 2));
}

describe('fhir-fusion models verify', () => {
  it('re-checks the embedding model after the risk models, and skips it when similar cases are off', async () => {
    expect(await verify()).toEqual({
      ok: true,
      models: [
        { key: 'tiny-fusion@1.0.0', ok: true, problems: [] },
        { key: 'tiny-logistic@1.0.0', ok: true, problems: [] },
        { key: 'ecg-report-clip@1', ok: true, problems: [] },
      ],
    });
    expect((await verify({ SIMILAR_CASES_MODEL: 'off' })).models.map((m) => m.key)).toEqual([
      'tiny-fusion@1.0.0',
      'tiny-logistic@1.0.0',
    ]);
  });

  it('reports a tampered encoder file by its sha256', async () => {
    await appendFile(join(clip, 'text-encoder.onnx'), Buffer.from([1]));
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.models[2]).toEqual({
      key: 'ecg-report-clip@1',
      ok: false,
      problems: [expect.stringMatching(/^model ecg-report-clip@1: text-encoder\.onnx: sha256 mismatch/)],
    });
  });

  it('reports golden tensors the encoder no longer reproduces, even with a matching sha256', async () => {
    // The last float of the expected ECG embeddings, negated (little-endian float32: flip the sign bit).
    await rewriteListed('golden-output-ecg_embedding.npy', (bytes) => {
      const copy = Buffer.from(bytes);
      copy[copy.length - 1] = copy[copy.length - 1]! ^ 0x80;
      return copy;
    });
    const report = await verify();
    expect(report.models[2]?.ok).toBe(false);
    expect(report.models[2]?.problems[0]).toMatch(
      /^model ecg-report-clip@1: golden-output-ecg_embedding\.npy: row 3 element 63: expected .*, model gives /,
    );
  });

  it('reports a manifest whose tensors differ from the graph (graph signature)', async () => {
    await editEmbeddingManifest((m) => {
      m.encoders.text.inputs[0]!.name = 'tokens';
    });
    const report = await verify();
    expect(report.models[2]?.ok).toBe(false);
    expect(report.models[2]?.problems[0]).toMatch(
      /^model ecg-report-clip@1: manifest input 'tokens': not in graph \(graph inputs: report_tokens\)/,
    );
  });
});
