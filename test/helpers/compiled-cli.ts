import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { repoRoot } from './fixtures.js';

/**
 * Where {@link compileSourcesForChildProcesses} writes the transpiled `src/`: a sibling of `src/`,
 * so every path the code resolves from its own location (`../../migrations`, `../../package.json`,
 * `../../../src/review/assets/`, the worker entries next to their modules) reaches the same files.
 */
export const compiledSourceDir = join(repoRoot, '.test-build');

/** `node` arguments that run the fhir-fusion CLI from the transpiled sources (after global setup). */
export function compiledCli(...args: string[]): string[] {
  return [join(compiledSourceDir, 'cli', 'index.js'), ...args];
}

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * Transpiles `src/` file by file (no bundling, no type check: what tsx does in memory at every
 * process start) once per test run. Tests that start fhir-fusion as a child process — kill -9,
 * scale-out, backfill resume, CLI exit codes — run it with plain `node`, which skips tsx's loader
 * hooks and the per-process transform: about 1.8 s of CPU less for every server (re)start, which
 * the kill tests do dozens of times. The code is the same esbuild output tsx would run.
 */
export async function compileSourcesForChildProcesses(): Promise<void> {
  const src = join(repoRoot, 'src');
  await build({
    entryPoints: typeScriptFiles(src).map((file) => relative(repoRoot, file)),
    absWorkingDir: repoRoot,
    outbase: 'src',
    outdir: relative(repoRoot, compiledSourceDir),
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    sourcemap: 'inline',
    logLevel: 'warning',
  });
}
