import type { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** How to start a worker thread: a script URL, or bootstrap code evaluated in the worker. */
export type WorkerEntry = { kind: 'file'; url: URL } | { kind: 'eval'; code: string };

/**
 * Where the worker script `name` (without extension, a sibling of `moduleUrl`) is and how to
 * start it. From compiled `dist/` the worker is the sibling `.js` file and needs nothing. When the
 * caller runs from TypeScript source (tsx in development, vitest in tests) the worker is the `.ts`
 * file, and worker threads do not inherit the parent's module hooks. On Node 20,
 * `execArgv: ['--import', 'tsx']` does NOT help (the worker still fails with "Unknown file
 * extension .ts"), so the worker instead evaluates a two-line bootstrap that loads the entry
 * through tsx's `tsImport` API, which registers tsx's loader inside the worker first. Shared by the
 * inference worker pool and the write-back validation worker.
 */
export function workerEntry(moduleUrl: string, name: string): WorkerEntry {
  if (!moduleUrl.endsWith('.ts')) return { kind: 'file', url: new URL(`./${name}.js`, moduleUrl) };
  const entry = new URL(`./${name}.ts`, moduleUrl).href;
  const code = `import(${JSON.stringify(tsxEsmApi(moduleUrl))}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(moduleUrl)}))`;
  return { kind: 'eval', code };
}

/** tsx's ESM API as an absolute URL, so the bootstrap does not depend on the worker's cwd. */
function tsxEsmApi(moduleUrl: string): string {
  try {
    const cjs = createRequire(moduleUrl).resolve('tsx/esm/api');
    const esm = cjs.replace(/\.cjs$/, '.mjs');
    return pathToFileURL(existsSync(esm) ? esm : cjs).href;
  } catch {
    return 'tsx/esm/api';
  }
}

/** What every fhir-fusion worker posts while it starts, before any reply. */
export type WorkerStartMessage = { type: 'ready' } | { type: 'init-error'; message: string };

/** What a caller does with a started worker's messages and with its end. */
export interface WorkerWatch<M> {
  /** Every message after start-up (replies to requests). */
  onReply(message: M): void;
  /** The worker crashed (`exitCode` undefined) or exited; `ready` says whether it had started. */
  onEnd(reason: string, ready: boolean, exitCode?: number): void;
  /** The error type a failed start rejects with (default `Error`). */
  makeError?: (message: string) => Error;
}

/**
 * The start-up handshake both worker kinds (inference, validation) follow: resolves when `worker`
 * posts `ready`; rejects if it posts `init-error` (and is terminated), crashes or exits first.
 * Replies and a later crash or exit go to `watch`; `label` names the worker in every reason.
 */
export function watchWorker<M>(worker: Worker, label: string, watch: WorkerWatch<M>): Promise<void> {
  const makeError = watch.makeError ?? ((message: string) => new Error(message));
  return new Promise<void>((resolve, reject) => {
    let ready = false;
    worker.on('message', (message: M | WorkerStartMessage) => {
      const start = message as WorkerStartMessage;
      if (start.type === 'ready') {
        ready = true;
        resolve();
      } else if (start.type === 'init-error') {
        reject(makeError(`${label} failed to start: ${start.message}`));
        void worker.terminate();
      } else watch.onReply(message as M);
    });
    worker.on('error', (error) => {
      if (!ready) reject(error);
      watch.onEnd(`${label} crashed: ${error.message}`, ready);
    });
    worker.on('exit', (code) => {
      if (!ready) reject(makeError(`${label} exited with code ${code} before it was ready`));
      watch.onEnd(`${label} exited with code ${code}`, ready, code);
    });
  });
}
