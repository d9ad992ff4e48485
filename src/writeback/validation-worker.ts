/**
 * Worker thread that validates write-back resources off the event loop (issue 26: profile
 * validation was ~20 % of the main thread's CPU). `@medplum/core`'s type index is module state, and
 * a worker has its own module instances, so the worker indexes the R4 definitions for itself —
 * through `ensureR4DefinitionsIndexed`, the index's one writer, like every other process or thread
 * that validates — and then validates exactly as the main thread's validator does.
 */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { parentPort } from 'node:worker_threads';
import { threadCpuMs } from '../observability/thread-cpu.js';
import { ensureR4DefinitionsIndexed } from './index-r4-definitions.js';
import { createProfileValidator } from './validate-profiles.js';

/** Parent → worker: validate these resources. */
export interface ValidateRequest {
  id: number;
  resources: Resource[];
}

/** Worker → parent. `outcomes[i]` is `null` when `resources[i]` is valid; `cpuMs` is this thread's CPU. */
export type ValidationWorkerMessage =
  | { type: 'ready' }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; outcomes: Array<OperationOutcome | null>; cpuMs?: number }
  | { type: 'error'; id: number; message: string };

function main(): void {
  const port = parentPort;
  if (!port) return;
  let validate: (resource: Resource) => OperationOutcome | undefined;
  try {
    const validator = createProfileValidator(ensureR4DefinitionsIndexed());
    validate = (resource) => validator.validate(resource);
  } catch (error) {
    port.postMessage({
      type: 'init-error',
      message: (error as Error).message,
    } satisfies ValidationWorkerMessage);
    return;
  }
  port.on('message', (request: ValidateRequest) => {
    const cpu0 = threadCpuMs();
    let message: ValidationWorkerMessage;
    try {
      const outcomes = request.resources.map((r) => validate(r) ?? null);
      const cpu1 = threadCpuMs();
      message = {
        type: 'result',
        id: request.id,
        outcomes,
        ...(cpu0 !== undefined && cpu1 !== undefined ? { cpuMs: cpu1 - cpu0 } : {}),
      };
    } catch (error) {
      message = { type: 'error', id: request.id, message: (error as Error).message };
    }
    port.postMessage(message);
  });
  port.postMessage({ type: 'ready' } satisfies ValidationWorkerMessage);
}

main();
