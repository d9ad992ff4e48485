import { Worker } from 'node:worker_threads';
import type { WorkerEntry } from '../../contracts/worker-entry.js';
import { watchWorker, workerEntry } from '../../contracts/worker-entry.js';
// Loaded on the main thread too, on purpose: when the last worker that loaded the ONNX Runtime
// addon exits, Node unloads the shared library, and loading it again in a new worker fails with
// "Module did not self-register". Holding it here keeps it loaded for the process's lifetime.
import 'onnxruntime-node';
import { InferenceRunError } from './inference-errors.js';
import type { InferenceLogger } from './inference-logger.js';
import type { TensorData } from '../manifest/tensor-data.js';
import {
  transferList,
  type InferenceWorkerData,
  type RunRequestMessage,
  type WorkerMessage,
  type WorkerModelSpec,
} from './worker-protocol.js';

/** Outputs of one run with how long `session.run` took inside the worker. */
export interface WorkerRunResult {
  outputs: Record<string, TensorData>;
  runMs: number;
  /** The worker thread's CPU during the run (Linux `/proc/thread-self/schedstat`); absent elsewhere. */
  cpuMs?: number;
}

/** A fixed pool of inference worker threads, each holding a session per active model. */
export interface WorkerPool {
  readonly size: number;
  /**
   * Runs one batch on the least busy worker. The feeds' buffers are transferred (the caller's
   * arrays are detached afterwards); outputs come back transferred too.
   */
  run(model: string, feeds: Record<string, TensorData>, outputs?: string[]): Promise<WorkerRunResult>;
  /** Runs in flight across all workers. */
  inFlight(): number;
  /** Waits for in-flight runs, then stops every worker. */
  close(): Promise<void>;
}

/** Options for {@link createWorkerPool}. */
export interface WorkerPoolOptions {
  size: number;
  models: WorkerModelSpec[];
  intraOpThreads?: number;
  logger: InferenceLogger;
}

interface Pending {
  resolve: (result: WorkerRunResult) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
}

export type { WorkerEntry } from '../../contracts/worker-entry.js';

/**
 * Where the inference worker script is and how to start it (see {@link workerEntry}). Covered by
 * `test/unit/inference/runtime/worker-pool.test.ts`.
 */
export function inferenceWorkerEntry(moduleUrl: string = import.meta.url): WorkerEntry {
  return workerEntry(moduleUrl, 'inference-worker');
}

/** Starts `size` workers and resolves once every one has loaded and warmed up its sessions. */
export async function createWorkerPool(options: WorkerPoolOptions): Promise<WorkerPool> {
  if (!Number.isInteger(options.size) || options.size < 1)
    throw new Error(`worker pool size must be a positive integer, got ${options.size}`);
  const data: InferenceWorkerData = {
    models: options.models,
    ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
  };
  const workers: PoolWorker[] = [];
  let nextId = 1;
  let closing = false;
  const idleWaiters: Array<() => void> = [];

  const inFlight = (): number => workers.reduce((n, w) => n + w.pending.size, 0);
  const notifyIfIdle = (): void => {
    if (inFlight() === 0) idleWaiters.splice(0).forEach((resolve) => resolve());
  };

  const start = (): Promise<PoolWorker> => {
    const entry = inferenceWorkerEntry();
    const worker =
      entry.kind === 'file'
        ? new Worker(entry.url, { workerData: data })
        : new Worker(entry.code, { eval: true, workerData: data });
    const pw: PoolWorker = { worker, pending: new Map() };
    const failAll = (error: Error): void => {
      for (const p of pw.pending.values()) p.reject(error);
      pw.pending.clear();
      notifyIfIdle();
    };
    return watchWorker<WorkerMessage>(worker, 'inference worker', {
      makeError: (message) => new InferenceRunError(message),
      onReply: (message) => {
        if (message.type === 'ready' || message.type === 'init-error') return;
        const pending = pw.pending.get(message.id);
        if (!pending) return;
        pw.pending.delete(message.id);
        if (message.type === 'result')
          pending.resolve({
            outputs: message.outputs,
            runMs: message.runMs,
            ...(message.cpuMs !== undefined ? { cpuMs: message.cpuMs } : {}),
          });
        else pending.reject(new InferenceRunError(message.message));
        notifyIfIdle();
      },
      onEnd: (reason, ready, code) => {
        if (code === undefined) options.logger.error({ reason }, 'inference worker crashed');
        failAll(new InferenceRunError(reason));
        if (code === undefined) return;
        const index = workers.indexOf(pw);
        if (index >= 0) workers.splice(index, 1);
        // Keep the pool at size: a crashed worker is replaced unless we are shutting down.
        if (ready && !closing) {
          options.logger.warn({ code }, 'inference worker exited; starting a replacement');
          start().then(
            (replacement) => workers.push(replacement),
            (error: unknown) =>
              options.logger.error({ reason: String(error) }, 'replacement inference worker failed to start'),
          );
        }
      },
    }).then(() => pw);
  };

  const started = await Promise.allSettled(Array.from({ length: options.size }, () => start()));
  for (const result of started) if (result.status === 'fulfilled') workers.push(result.value);
  const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    closing = true;
    await Promise.all(workers.map((w) => w.worker.terminate()));
    throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
  }

  return {
    size: options.size,
    inFlight,
    run(model, feeds, outputs) {
      const target = workers.reduce<PoolWorker | undefined>(
        (best, w) => (!best || w.pending.size < best.pending.size ? w : best),
        undefined,
      );
      if (closing) return Promise.reject(new InferenceRunError('inference worker pool is closed'));
      if (!target)
        return Promise.reject(new InferenceRunError('no inference worker is running (all exited)'));
      const id = nextId++;
      const message: RunRequestMessage = { type: 'run', id, model, feeds, ...(outputs ? { outputs } : {}) };
      return new Promise<WorkerRunResult>((resolve, reject) => {
        target.pending.set(id, { resolve, reject });
        target.worker.postMessage(message, transferList(feeds));
      });
    },
    async close() {
      closing = true;
      if (inFlight() > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      await Promise.all(workers.map((w) => w.worker.terminate()));
      workers.length = 0;
    },
  };
}
