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

/** A loaded, verified ECG ↔ report dual encoder (the ECG read as a waveform or as the rendered image). */
export interface EmbeddingModel {
  readonly manifest: EmbeddingModelManifest;
  /** `name@version`, stored with every indexed embedding. */
  readonly key: string;
  readonly dimension: number;
  /**
   * Embeds ECGs, each the ECG encoder's input as the preprocessing produces it (`caseFromRecord`):
   * `[leads × samples]` row-major for a waveform encoder, the rendered `[1 × H × W]` image for an
   * image encoder (`manifest.preprocessing.ecg.representation`); one unit vector per ECG.
   */
  embedEcg(ecgs: readonly Float32Array[]): Promise<Float32Array[]>;
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
  // Per-ECG dims of the encoder input ([leads, samples] or [1, H, W]); the manifest parser checked them.
  const ecgDims = encoders.ecg.spec.inputs[0]!.shape.slice(1);
  const ecgSize = ecgDims.reduce((a, b) => a * b, 1);
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
    async embedEcg(ecgs) {
      if (ecgs.length === 0) return [];
      // A fresh buffer: the pool transfers feeds to the worker, so the caller's arrays stay usable.
      const data = new Float32Array(ecgs.length * ecgSize);
      ecgs.forEach((e, i) => {
        if (e.length !== ecgSize)
          throw new RangeError(`ECG ${i} has ${e.length} values; the model needs ${ecgDims.join('×')}`);
        data.set(e, i * ecgSize);
      });
      return embed('ecg', { dtype: 'float32', dims: [ecgs.length, ...ecgDims], data }, ecgs.length);
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
