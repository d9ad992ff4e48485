import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EmbeddingModelManifest } from '../inference/manifest/embedding-manifest.js';
import type { TensorData } from '../inference/manifest/tensor-data.js';
import {
  loadEmbeddingRegistration,
  type RegisteredEmbeddingModel,
} from '../inference/runtime/embedding-registry.js';
import type { InferenceLogger } from '../inference/runtime/inference-logger.js';
import { createWorkerPool, type WorkerPool } from '../inference/runtime/worker-pool.js';
import { parseVocabulary, type Vocabulary } from '../preprocess/text/vocabulary.js';
import { tokenizeReport } from '../preprocess/text/tokenize-report.js';

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

/** Thrown when the model folder cannot be trusted or an encoder answers out of contract. */
export class EmbeddingModelError extends Error {
  override name = 'EmbeddingModelError';
}

/** Options for {@link loadEmbeddingModel}. */
export interface EmbeddingModelOptions {
  /** ONNX Runtime execution providers in order of preference; `cuda,cpu` opens on CPU on a CPU-only host. */
  executionProviders?: readonly string[];
  logger?: InferenceLogger;
  /** Inference worker threads serving the two encoders (one is plenty: one ECG per assessed patient). */
  workers?: number;
  /** ORT intra-op threads per session in the workers; ORT's default (one per core) when omitted. */
  intraOpThreads?: number;
}

const SILENT: InferenceLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Loads `<dir>/embedding-manifest.json` through the inference registry's checks (sha256 of every
 * file, graph signatures, warm-up, golden tensors; `inference/runtime/embedding-registry.ts`), then
 * serves both encoders from inference worker threads as the risk models are served, so
 * `session.run` never blocks the event loop that answers HTTP requests.
 */
export async function loadEmbeddingModel(
  dir: string,
  options: EmbeddingModelOptions = {},
): Promise<EmbeddingModel> {
  const logger = options.logger ?? SILENT;
  const registered = await loadEmbeddingRegistration({
    dir,
    executionProviders: options.executionProviders ?? ['cpu'],
    logger,
    ...(options.intraOpThreads ? { tuning: { intraOpThreads: options.intraOpThreads } } : {}),
  });
  const tokenizer = registered.manifest.preprocessing.text.tokenizer;
  const vocabulary = parseVocabulary(JSON.parse(await readFile(join(registered.dir, tokenizer), 'utf8')));
  if (!vocabulary.ok) throw new EmbeddingModelError(`${registered.dir}/${tokenizer}: ${vocabulary.detail}`);
  const pool = await createWorkerPool({
    size: options.workers ?? 1,
    models: [registered.encoders.ecg.worker, registered.encoders.text.worker],
    ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
    logger,
  });
  return createModel(registered, pool, vocabulary.value);
}

function createModel(
  registered: RegisteredEmbeddingModel,
  pool: WorkerPool,
  vocabulary: Vocabulary,
): EmbeddingModel {
  const { manifest, encoders } = registered;
  const dimension = manifest.embedding.dimension;
  const ecgIn = encoders.ecg.spec.inputs[0]!;
  const [leads, samples] = [ecgIn.shape[1]!, ecgIn.shape[2]!];
  const maxTokens = manifest.preprocessing.text.maxTokens;
  const embed = async (encoder: 'ecg' | 'text', feed: TensorData, rows: number): Promise<Float32Array[]> => {
    const { worker, spec } = encoders[encoder];
    const output = spec.outputs[0]!.name;
    const { outputs } = await pool.run(worker.key, { [spec.inputs[0]!.name]: feed }, [output]);
    return split(outputs[output], rows, dimension);
  };
  return {
    manifest,
    key: registered.key,
    dimension,
    async embedEcg(waveforms) {
      if (waveforms.length === 0) return [];
      // A fresh buffer: the pool transfers feeds to the worker, so the caller's arrays stay usable.
      const data = new Float32Array(waveforms.length * leads * samples);
      waveforms.forEach((w, i) => {
        if (w.length !== leads * samples)
          throw new RangeError(`ECG ${i} has ${w.length} values; the model needs ${leads}×${samples}`);
        data.set(w, i * leads * samples);
      });
      return embed(
        'ecg',
        { dtype: 'float32', dims: [waveforms.length, leads, samples], data },
        waveforms.length,
      );
    },
    async embedText(texts) {
      if (texts.length === 0) return [];
      const ids = new BigInt64Array(texts.length * maxTokens);
      texts.forEach((t, i) =>
        ids.set(tokenizeReport(t, vocabulary, manifest.preprocessing.text).ids, i * maxTokens),
      );
      return embed('text', { dtype: 'int64', dims: [texts.length, maxTokens], data: ids }, texts.length);
    },
    close: () => pool.close(),
  };
}

function split(tensor: TensorData | undefined, rows: number, dimension: number): Float32Array[] {
  if (!tensor || !(tensor.data instanceof Float32Array) || tensor.data.length !== rows * dimension)
    throw new EmbeddingModelError(`encoder output is not float32 [${rows}, ${dimension}]`);
  const data = tensor.data;
  return Array.from({ length: rows }, (_, i) => data.slice(i * dimension, (i + 1) * dimension));
}
