import { availableParallelism } from 'node:os';
import type { InferenceOutput } from '../../contracts/assessment-result.js';
import { createDynamicBatcher, type BatcherStats } from './batcher.js';
import { explainRows, interpretRows, type ExplainedRequest, type InferenceMeta } from './explain.js';
import { InferenceQueueFull, InferenceRunError, ModelNotFoundError } from './inference-errors.js';
import type { InferenceLogger } from './inference-logger.js';
import type { InferenceMetrics } from './inference-metrics.js';
import type { StageClock } from '../../observability/stage-clock.js';
import type { ModelRegistry, RegisteredModel } from './model-registry.js';
import { checkRequestTensors, type RequestTensors } from './request-tensors.js';
import { allocateTensorArray, elementCount, type TensorArray, type TensorData } from '../manifest/tensor-data.js';
import type { RemoteModelSpec } from './kserve-v2-backend.js';
import { createWorkerPool, type WorkerPool } from './worker-pool.js';
import { findingOutputs, localisationOutput } from '../manifest/localisation-output.js';
import { findingMapsOfRow, localisationMapsOfRow } from './localisation-maps.js';

export type { InferenceMeta } from './explain.js';

/** Options for {@link createInferenceEngine}. */
export interface InferenceEngineOptions {
  registry: ModelRegistry;
  /** Worker threads, each with a session per active model. */
  threads: number;
  /** Most rows per batched run (a patient is 1 row plus one per explanation variant). */
  maxBatchSize: number;
  /** Longest a request waits for its batch to fill. */
  maxQueueDelayMs: number;
  /** Most requests waiting; more are refused with `InferenceQueueFull`. */
  queueLimit: number;
  logger: InferenceLogger;
  metrics?: InferenceMetrics;
  /**
   * Charges explanation work (planning the variant rows, reading them back, and the variant rows'
   * share of each batch's worker time) to `explanation`, the rest of the worker time to `inference`.
   */
  stageClock?: Pick<StageClock, 'run' | 'add'>;
  /** Feature contributions returned per patient (default 5). */
  explainTopK?: number;
  /** Compute modality and feature contributions (default true). */
  explain?: boolean;
  /** ORT intra-op threads per worker session (default: cores / threads, at least 1). */
  intraOpThreads?: number;
  /**
   * Runs batches somewhere other than local worker threads (e.g. {@link connectKserveV2}); it gets
   * the registry's verified models. `executionProvider` is then what results and Provenance name.
   */
  remote?: { connect: (models: RemoteModelSpec[]) => Promise<WorkerPool>; executionProvider: string };
}

/** The inference engine: registry-backed, worker-threaded, dynamically batched. */
export interface InferenceEngine {
  /** Resolves when every worker has loaded and warmed up the active models; rejects if one failed. */
  ready(): Promise<void>;
  /**
   * Runs one patient. `tensors` are the manifest's inputs with batch axis 1; their buffers are
   * read, not kept or detached. Rejects with `ModelNotFoundError`, `InferenceInputError`,
   * `InferenceQueueFull` (retry later), `InferenceEngineClosed` or `InferenceRunError`.
   */
  infer(
    modelName: string,
    modelVersion: string | undefined,
    tensors: Record<string, TensorData>,
    meta: InferenceMeta,
  ): Promise<InferenceOutput>;
  /** Batches, requests and rows executed so far. */
  stats(): BatcherStats;
  /** Refuses new requests, finishes queued and in-flight ones, then stops the workers. */
  close(): Promise<void>;
}

interface PendingRequest {
  model: RegisteredModel;
  tensors: RequestTensors;
  meta: InferenceMeta;
  plan: ExplainedRequest;
}

/**
 * Creates the engine and starts its worker pool in the background (`ready()` reports when it is
 * up; `infer` waits for it). Requests for the same model and row shape are batched across patients.
 */
export function createInferenceEngine(options: InferenceEngineOptions): InferenceEngine {
  const { registry, logger, metrics } = options;
  const clock = options.stageClock;
  const timed = <T>(fn: () => T): T => (clock ? clock.run('explanation', fn) : fn());
  const topK = options.explainTopK ?? 5;
  const explain = options.explain ?? true;
  const cores = availableParallelism();
  const intraOpThreads =
    options.intraOpThreads ??
    registry.tuning.intraOpThreads ??
    Math.max(1, Math.floor(cores / options.threads));
  const remote = options.remote;
  const poolPromise: Promise<WorkerPool> = remote
    ? remote.connect(
        registry
          .list()
          .map((m) => ({
            key: m.key,
            name: m.name,
            version: m.version,
            inputs: m.manifest.inputs,
            outputs: m.manifest.outputs,
          })),
      )
    : createWorkerPool({
        size: options.threads,
        intraOpThreads,
        logger,
        models: registry.list().map((m) => ({
          key: m.key,
          modelPath: m.modelPath,
          executionProvider: m.executionProvider,
          inputs: m.manifest.inputs,
        })),
      });
  // The provider gauge is the registry's too; setting it here as well means it is exported even
  // when only the engine was given the metrics.
  const providerOf = (m: RegisteredModel): string => remote?.executionProvider ?? m.executionProvider;
  for (const m of registry.list())
    metrics?.modelInfo.set({ model: m.name, version: m.version, execution_provider: providerOf(m) }, 1);
  // Observed here so a start-up failure is never an unhandled rejection; callers see it via ready()/infer().
  poolPromise.catch((error: unknown) =>
    logger.error(
      { reason: error instanceof Error ? error.message : String(error) },
      'inference workers failed to start',
    ),
  );

  const batcher = createDynamicBatcher<PendingRequest, InferenceOutput>({
    maxBatchSize: options.maxBatchSize,
    maxQueueDelayMs: options.maxQueueDelayMs,
    queueLimit: options.queueLimit,
    concurrency: options.threads,
    rowsOf: (r) => r.plan.variants.length,
    onQueueDepth: (depth) => metrics?.queueDepth.set(depth),
    execute: async (_group, requests) => runBatch(await poolPromise, requests),
  });

  async function runBatch(pool: WorkerPool, requests: PendingRequest[]): Promise<InferenceOutput[]> {
    const first = requests[0];
    if (!first) return [];
    const { model } = first;
    const manifest = model.manifest;
    const rows = requests.reduce((n, r) => n + r.plan.variants.length, 0);
    // Concatenate along axis 0: one allocation per input, each request writes its rows in place.
    const feeds: Record<string, TensorArray> = {};
    const dims: Record<string, number[]> = {};
    for (const input of manifest.inputs) {
      const rowDims = first.tensors.inputs[input.name]?.dims ?? [];
      dims[input.name] = [rows, ...rowDims];
      feeds[input.name] = allocateTensorArray(input.dtype, rows * elementCount(rowDims));
    }
    let offset = 0;
    for (const r of requests) {
      r.plan.writeRows(feeds, offset);
      offset += r.plan.variants.length;
    }
    const probabilities = manifest.outputs.find((o) => o.role === 'probabilities');
    if (!probabilities) throw new InferenceRunError(`${model.key} has no probabilities output`);
    const wire: Record<string, TensorData> = {};
    for (const input of manifest.inputs) {
      wire[input.name] = {
        dtype: input.dtype,
        dims: dims[input.name] ?? [],
        data: feeds[input.name] as TensorArray,
      };
    }
    // The localisation map (issue 20) comes from the same run: one more output of the same graph.
    const localisation = localisationOutput(manifest);
    const finding = findingOutputs(manifest);
    const outputNames = [
      probabilities.name,
      ...(localisation ? [localisation.name] : []),
      ...(finding ? [finding.map.name, finding.probabilities.name] : []),
    ];
    const started = performance.now();
    const result = await pool.run(model.key, wire, outputNames);
    metrics?.batchSeconds.observe({ model: model.key }, (performance.now() - started) / 1000);
    metrics?.batchRows.observe({ model: model.key }, rows);
    metrics?.batchRequests.observe({ model: model.key }, requests.length);
    // The worker thread's CPU in session.run (its wall time where the OS does not report thread
    // CPU), split by rows: each request's first row is its prediction, the others its explanation.
    const workerMs = result.cpuMs ?? result.runMs;
    clock?.add('inference', (workerMs * requests.length) / rows);
    clock?.add('explanation', (workerMs * (rows - requests.length)) / rows);
    const output = result.outputs[probabilities.name];
    if (!output || output.dims[0] !== rows) {
      throw new InferenceRunError(
        `${model.key}: output '${probabilities.name}' has shape [${output?.dims.join(', ') ?? ''}], expected ${rows} rows`,
      );
    }
    const outcomeCount = output.dims[1] ?? 1;
    const values = output.data as Float32Array;
    const mapOutput = localisation ? result.outputs[localisation.name] : undefined;
    const findingMap = finding ? result.outputs[finding.map.name] : undefined;
    const findingProbabilities = finding ? result.outputs[finding.probabilities.name] : undefined;
    offset = 0;
    return requests.map((r) => {
      const n = r.plan.variants.length;
      const slice = values.subarray(offset * outcomeCount, (offset + n) * outcomeCount);
      // A request's first row is the patient as-is; a map of a missing (zero-filled) image means nothing.
      const imagePresent = r.meta.presence.image === true;
      const maps = mapOutput && imagePresent ? localisationMapsOfRow(manifest, mapOutput, offset) : undefined;
      const findingMaps =
        findingMap && findingProbabilities && imagePresent
          ? findingMapsOfRow(manifest, findingMap, findingProbabilities, offset)
          : undefined;
      offset += n;
      const interpreted = timed(() =>
        interpretRows(manifest, r.tensors, r.meta, r.plan.variants, slice, outcomeCount, topK),
      );
      const executionProvider = providerOf(model);
      return {
        ...interpreted,
        executionProvider,
        ...(maps ? { localisationMaps: maps } : {}),
        ...(findingMaps ? { findingMaps } : {}),
      };
    });
  }

  return {
    async ready() {
      await poolPromise;
    },
    stats: () => batcher.stats(),
    async infer(modelName, modelVersion, tensors, meta) {
      const model = registry.get(modelName, modelVersion);
      if (!model) throw new ModelNotFoundError(modelName, modelVersion);
      const checked = checkRequestTensors(model.manifest, tensors);
      const plan = timed(() => explainRows(model.manifest, checked, meta, explain));
      const started = performance.now();
      const output = await batcher
        .submit(`${model.key}|${checked.shapeKey}`, { model, tensors: checked, meta, plan })
        .catch((error: unknown) => {
          if (error instanceof InferenceQueueFull) metrics?.queueRejections.inc({ model: model.key });
          throw error;
        });
      metrics?.requestSeconds.observe({ model: model.key }, (performance.now() - started) / 1000);
      return output;
    },
    async close() {
      await batcher.drain();
      const pool = await poolPromise.catch(() => undefined);
      await pool?.close();
      logger.info({ ...batcher.stats() }, 'inference engine closed');
    },
  };
}
