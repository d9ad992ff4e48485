import type { DescriptionDraftResult, DescriptionDrafter } from '../../contracts/description-draft.js';
import type { DraftModelManifest } from '../manifest/draft-manifest.js';
import type { TensorData } from '../manifest/tensor-data.js';
import { detokenise, greedyDecode } from './draft-decoder.js';
import { loadDraftRegistration, type RegisteredDraftModel } from './draft-registry.js';
import type { InferenceLogger } from './inference-logger.js';
import { createWorkerPool, type WorkerPool } from './worker-pool.js';

/** Options for {@link openDescriptionDrafter}. */
export interface DescriptionDrafterOptions {
  /** The version folder holding `draft-manifest.json` (e.g. `models/report-drafter/1`). */
  dir: string;
  /** ONNX Runtime execution providers in order of preference (default `['cpu']`). */
  executionProviders?: readonly string[];
  logger: InferenceLogger;
  /** Inference worker threads for the two graphs (default 1). */
  workers?: number;
  intraOpThreads?: number;
}

/** The drafter the pipeline uses, plus batch drafting for the offline evaluation. */
export interface BatchDescriptionDrafter extends DescriptionDrafter {
  readonly manifest: DraftModelManifest;
  /** sha256 identity of the graphs and vocabulary (see {@link RegisteredDraftModel.modelSha256}). */
  readonly modelSha256: string;
  /** The words the model can write, by id (none identifier-like: checked when the model loads). */
  readonly tokens: readonly string[];
  /** The ONNX Runtime execution provider the graphs run on (`cpu`, `cuda`), for Provenance. */
  readonly executionProvider: string;
  /** Drafts for several normalised `[1, H, W]` images at once (one decoding loop over the batch). */
  draftBatch(images: readonly Float32Array[]): Promise<DescriptionDraftResult[]>;
}

/**
 * Loads and verifies a drafting model (`draft-manifest.json`: sha256 of every file, both graphs'
 * signatures, warm-up, golden tensors, a vocabulary without identifier-like tokens), then serves its
 * image encoder and decoder step from inference worker threads, so `session.run` never blocks the
 * event loop; the decoding loop between steps only picks the arg-max word.
 *
 * `draft()` expects the model image normalised as `manifest.preprocessing.image` says
 * (`(x - mean) / std` on the `[0, 1]` image the preprocessing produces) and answers `not-drafted`,
 * naming why, when the image was refused or is absent (`imageUnavailable`), has the wrong shape or
 * holds non-finite values, or when the model fails to run: a draft is never made from input the
 * model was not built for, and a failure never throws into the pipeline.
 */
export async function openDescriptionDrafter(
  options: DescriptionDrafterOptions,
): Promise<BatchDescriptionDrafter> {
  const registered = await loadDraftRegistration({
    dir: options.dir,
    executionProviders: options.executionProviders ?? ['cpu'],
    logger: options.logger,
    ...(options.intraOpThreads ? { tuning: { intraOpThreads: options.intraOpThreads } } : {}),
  });
  const pool = await createWorkerPool({
    size: options.workers ?? 1,
    models: [registered.graphs.encoder.worker, registered.graphs.decoder.worker],
    ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
    logger: options.logger,
  });
  return createDrafter(registered, pool, options.logger);
}

interface LstmState {
  h: TensorData;
  c: TensorData;
}

function createDrafter(
  registered: RegisteredDraftModel,
  pool: WorkerPool,
  logger: InferenceLogger,
): BatchDescriptionDrafter {
  const { manifest, tokens, graphs } = registered;
  const [height, width] = manifest.preprocessing.image.size;
  const pixels = height * width;
  const identity = {
    modelName: manifest.name,
    modelVersion: manifest.version,
    modelSha256: registered.modelSha256,
  };

  const run = async (graph: 'encoder' | 'decoder', feeds: Record<string, TensorData>, outputs: string[]) => {
    const result = await pool.run(graphs[graph].worker.key, feeds, outputs);
    return (name: string): TensorData => {
      const t = result.outputs[name];
      if (!t) throw new Error(`${graph} graph returned no ${name}`);
      return t;
    };
  };

  const decodeBatch = async (images: readonly Float32Array[]): Promise<DescriptionDraftResult[]> => {
    const rows = images.length;
    // A fresh buffer: the pool transfers feeds to the worker.
    const data = new Float32Array(rows * pixels);
    images.forEach((img, i) => data.set(img, i * pixels));
    const encoded = await run(
      'encoder',
      { image: { dtype: 'float32', dims: [rows, 1, height, width], data } },
      ['image_features', 'initial_h', 'initial_c'],
    );
    const features = encoded('image_features');
    const decoded = await greedyDecode<LstmState>(
      rows,
      { h: encoded('initial_h'), c: encoded('initial_c') },
      async (previous, state) => {
        const next = await run(
          'decoder',
          {
            previous_token: { dtype: 'int64', dims: [rows], data: previous },
            state_h: state.h,
            state_c: state.c,
            // Copied each step: the feed's buffer moves to the worker thread.
            image_features: {
              dtype: 'float32',
              dims: features.dims,
              data: (features.data as Float32Array).slice(),
            },
          },
          ['logits', 'next_h', 'next_c'],
        );
        return {
          logits: next('logits').data as Float32Array,
          state: { h: next('next_h'), c: next('next_c') },
        };
      },
      manifest.decoding,
    );
    return decoded.map((row) => {
      const { text, truncated } = detokenise(row.ids, tokens, manifest.decoding.maxCharacters);
      return { status: 'drafted', text, truncated: truncated || row.hitTokenCap, ...identity };
    });
  };

  /** Why an image cannot be drafted from, or undefined when it can. */
  const refusal = (image: Float32Array, dims?: readonly number[]): string | undefined => {
    if (dims && (dims.length !== 3 || dims[0] !== 1 || dims[1] !== height || dims[2] !== width))
      return `image tensor is [${dims.join(', ')}]; the drafting model needs [1, ${height}, ${width}]`;
    if (image.length !== pixels)
      return `image tensor has ${image.length} values; the drafting model needs ${pixels}`;
    if (!image.every(Number.isFinite)) return 'image tensor holds non-finite values';
    return undefined;
  };

  const draftBatch = async (images: readonly Float32Array[]): Promise<DescriptionDraftResult[]> => {
    const results: DescriptionDraftResult[] = images.map((img) => {
      const reason = refusal(img);
      return reason
        ? { status: 'not-drafted', reason }
        : { status: 'drafted', text: '', truncated: false, ...identity };
    });
    const usable = images.flatMap((img, i) => (results[i]!.status === 'drafted' ? [i] : []));
    if (usable.length === 0) return results;
    try {
      const drafts = await decodeBatch(usable.map((i) => images[i]!));
      usable.forEach((i, k) => (results[i] = drafts[k]!));
    } catch (error) {
      // Degrade, never crash the job: the pipeline writes the assessment without a draft.
      logger.error(
        { model: registered.key, reason: error instanceof Error ? error.message : String(error) },
        'drafting failed',
      );
      for (const i of usable)
        results[i] = { status: 'not-drafted', reason: 'the drafting model failed to run' };
    }
    return results;
  };

  return {
    modelName: manifest.name,
    modelVersion: manifest.version,
    modelSha256: registered.modelSha256,
    manifest,
    tokens,
    executionProvider: registered.graphs.encoder.worker.executionProvider,
    draftBatch,
    async draft(input) {
      if (input.imageUnavailable !== undefined)
        return { status: 'not-drafted', reason: `no usable image: ${input.imageUnavailable}` };
      const reason = refusal(input.image, input.imageDims);
      if (reason) return { status: 'not-drafted', reason };
      return (await draftBatch([input.image]))[0]!;
    },
    close: () => pool.close(),
  };
}
