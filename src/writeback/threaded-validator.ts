import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { Worker } from 'node:worker_threads';
import { watchWorker, workerEntry } from '../contracts/worker-entry.js';
import type { ValidateRequest, ValidationWorkerMessage } from './validation-worker.js';

/**
 * Validates a write-back Bundle's resources in a worker thread: the same checks as
 * `ProfileValidator.validate`, one outcome (or `undefined` when valid) per resource, in order.
 */
export interface ThreadedProfileValidator {
  validateAll(resources: readonly Resource[]): Promise<Array<OperationOutcome | undefined>>;
  /** Rejects what is in flight and stops the worker. */
  close(): Promise<void>;
}

/** Options for {@link startThreadedProfileValidator}. */
export interface ThreadedValidatorOptions {
  /** Receives the worker thread's CPU per call (Linux), e.g. for the stage clock. */
  onCpu?: (ms: number) => void;
}

interface Pending {
  resolve: (outcomes: Array<OperationOutcome | undefined>) => void;
  reject: (error: Error) => void;
}

/**
 * Starts the validation worker (`validation-worker.ts`) and resolves once it has indexed the R4
 * definitions. Resources are structured-cloned to the worker (a Bundle is a few kilobytes); the
 * event loop only posts and receives. A worker that dies fails what was in flight (the job retries)
 * and is started again on the next call.
 */
export async function startThreadedProfileValidator(
  options: ThreadedValidatorOptions = {},
): Promise<ThreadedProfileValidator> {
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;

  const failAll = (error: Error): void => {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  const start = (): Promise<Worker> => {
    const entry = workerEntry(import.meta.url, 'validation-worker');
    const worker = entry.kind === 'file' ? new Worker(entry.url) : new Worker(entry.code, { eval: true });
    const starting: Promise<Worker> = watchWorker<ValidationWorkerMessage>(worker, 'validation worker', {
      onReply: (message) => {
        if (message.type === 'ready' || message.type === 'init-error') return;
        const p = pending.get(message.id);
        if (!p) return;
        pending.delete(message.id);
        if (message.type === 'error') p.reject(new Error(`validation failed: ${message.message}`));
        else {
          if (message.cpuMs !== undefined) options.onCpu?.(message.cpuMs);
          p.resolve(message.outcomes.map((o) => o ?? undefined));
        }
      },
      onEnd: (reason, _ready, code) => {
        failAll(new Error(reason));
        if (code !== undefined && current === starting) current = undefined;
      },
    }).then(() => worker);
    return starting;
  };
  const started = start();
  let current: Promise<Worker> | undefined = started;
  await started;

  return {
    async validateAll(resources) {
      if (closed) throw new Error('validation worker is closed');
      current ??= start();
      const worker = await current;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, resources: [...resources] } satisfies ValidateRequest);
      });
    },
    async close() {
      closed = true;
      const worker = await current?.catch(() => undefined);
      current = undefined;
      failAll(new Error('validation worker is closed'));
      await worker?.terminate();
    },
  };
}
