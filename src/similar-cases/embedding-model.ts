import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { parseNpy } from '../inference/manifest/npy-format.js';
import { fileSha256 } from '../inference/manifest/file-sha256.js';
import type { InferenceLogger } from '../inference/runtime/inference-logger.js';
import { createSessionFactory } from '../inference/runtime/onnx-session-factory.js';
import { parseVocabulary, type Vocabulary } from '../preprocess/text/vocabulary.js';
import { tokenizeReport } from '../preprocess/text/tokenize-report.js';
import { parseEmbeddingManifest, type EmbeddingModelManifest } from '../inference/manifest/embedding-manifest.js';

/** A loaded, verified ECG ↔ report dual encoder. */
export interface EmbeddingModel {
  readonly manifest: EmbeddingModelManifest;
  /** `name@version`, stored with every indexed embedding. */
  readonly key: string;
  readonly dimension: number;
  /** Embeds ECGs, each `[leads × samples]` row-major as the preprocessing produces them; one unit vector per ECG. */
  embedEcg(waveforms: readonly Float32Array[]): Promise<Float32Array[]>;
  /** Embeds free text (an ECG report or a query such as "atrial fibrillation with RVR"); one unit vector per text. */
  embedText(texts: readonly string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Thrown when the model folder cannot be trusted: names the file and the difference. */
export class EmbeddingModelError extends Error {
  override name = 'EmbeddingModelError';
}

const GOLDEN_TOLERANCE = 1e-4;
const SILENT: InferenceLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Loads `<dir>/embedding-manifest.json`, checks every file's sha256, opens both encoders with
 * ONNX Runtime on `executionProviders` and re-runs the golden tensors, so a corrupted or
 * mismatched model refuses to load (as the risk-model registry does, Triton repository semantics).
 */
export async function loadEmbeddingModel(dir: string, executionProviders: readonly string[] = ['cpu'], logger: InferenceLogger = SILENT): Promise<EmbeddingModel> {
  const folder = resolve(dir);
  const parsed = parseEmbeddingManifest(JSON.parse(await readFile(join(folder, 'embedding-manifest.json'), 'utf8')));
  if (!parsed.ok) throw new EmbeddingModelError(`${folder}/embedding-manifest.json: ${parsed.problems.join('; ')}`);
  const manifest = parsed.value;
  for (const [file, expected] of Object.entries(manifest.files)) {
    const actual = await fileSha256(join(folder, file));
    if (actual !== expected) throw new EmbeddingModelError(`${folder}/${file}: sha256 ${actual} but the manifest says ${expected}`);
  }
  const vocabulary = parseVocabulary(JSON.parse(await readFile(join(folder, manifest.preprocessing.text.tokenizer), 'utf8')));
  if (!vocabulary.ok) throw new EmbeddingModelError(`${folder}/${manifest.preprocessing.text.tokenizer}: ${vocabulary.detail}`);
  // Providers in order with the registry's fallback: on a CPU-only host `cuda,cpu` opens on CPU.
  const sessions = createSessionFactory(executionProviders, logger);
  const open = async (file: string) => (await sessions.open(join(folder, file))).session;
  const ecgSession = await open(manifest.encoders.ecg.file);
  const textSession = await open(manifest.encoders.text.file);
  const model = createModel(manifest, ecgSession, textSession, vocabulary.value);
  await checkGolden(folder, manifest, ecgSession, textSession);
  return model;
}

function createModel(
  manifest: EmbeddingModelManifest,
  ecgSession: ort.InferenceSession,
  textSession: ort.InferenceSession,
  vocabulary: Vocabulary,
): EmbeddingModel {
  const dimension = manifest.embedding.dimension;
  const ecgIn = manifest.encoders.ecg.inputs[0]!;
  const textIn = manifest.encoders.text.inputs[0]!;
  const [leads, samples] = [ecgIn.shape[1]!, ecgIn.shape[2]!];
  const maxTokens = manifest.preprocessing.text.maxTokens;
  return {
    manifest,
    key: `${manifest.name}@${manifest.version}`,
    dimension,
    async embedEcg(waveforms) {
      if (waveforms.length === 0) return [];
      const data = new Float32Array(waveforms.length * leads * samples);
      waveforms.forEach((w, i) => {
        if (w.length !== leads * samples) throw new RangeError(`ECG ${i} has ${w.length} values; the model needs ${leads}×${samples}`);
        data.set(w, i * leads * samples);
      });
      const out = await ecgSession.run({ [ecgIn.name]: new ort.Tensor('float32', data, [waveforms.length, leads, samples]) });
      return split(out[manifest.encoders.ecg.outputs[0]!.name], waveforms.length, dimension);
    },
    async embedText(texts) {
      if (texts.length === 0) return [];
      const ids = new BigInt64Array(texts.length * maxTokens);
      texts.forEach((t, i) => ids.set(tokenizeReport(t, vocabulary, manifest.preprocessing.text).ids, i * maxTokens));
      const out = await textSession.run({ [textIn.name]: new ort.Tensor('int64', ids, [texts.length, maxTokens]) });
      return split(out[manifest.encoders.text.outputs[0]!.name], texts.length, dimension);
    },
    async close() {
      await ecgSession.release();
      await textSession.release();
    },
  };
}

function split(tensor: ort.Tensor | undefined, rows: number, dimension: number): Float32Array[] {
  if (!tensor || !(tensor.data instanceof Float32Array) || tensor.data.length !== rows * dimension)
    throw new EmbeddingModelError(`encoder output is not float32 [${rows}, ${dimension}]`);
  const data = tensor.data;
  return Array.from({ length: rows }, (_, i) => data.slice(i * dimension, (i + 1) * dimension));
}

async function checkGolden(folder: string, manifest: EmbeddingModelManifest, ecg: ort.InferenceSession, text: ort.InferenceSession): Promise<void> {
  for (const [key, session] of [['ecg', ecg], ['text', text]] as const) {
    const input = manifest.encoders[key].inputs[0]!;
    const output = manifest.encoders[key].outputs[0]!;
    const inFile = `golden-input-${input.name}.npy`;
    const outFile = `golden-output-${output.name}.npy`;
    if (!(inFile in manifest.files) || !(outFile in manifest.files)) continue;
    const x = parseNpy(await readFile(join(folder, inFile)));
    const y = parseNpy(await readFile(join(folder, outFile)));
    const tensor = x.dtype === 'int64' ? new ort.Tensor('int64', x.data as BigInt64Array, x.shape) : new ort.Tensor('float32', x.data as Float32Array, x.shape);
    const got = (await session.run({ [input.name]: tensor }))[output.name]?.data as Float32Array | undefined;
    const want = y.data as Float32Array;
    if (!got || got.length !== want.length) throw new EmbeddingModelError(`${folder}/${outFile}: output shape differs`);
    for (let i = 0; i < want.length; i++) {
      if (Math.abs(got[i]! - want[i]!) > GOLDEN_TOLERANCE)
        throw new EmbeddingModelError(`${folder}/${outFile}: element ${i} is ${got[i]} under ONNX Runtime but ${want[i]} in PyTorch`);
    }
  }
}
