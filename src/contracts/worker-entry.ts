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
