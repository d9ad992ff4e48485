import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { fileSha256 } from '../manifest/file-sha256.js';
import { checkGoldenTensors, type GraphTensors } from '../manifest/golden-check.js';
import { compareSignature, type GraphValueInfo } from '../manifest/graph-signature.js';
import type { SessionFactory } from './onnx-session-factory.js';
import { zeroFeeds } from './zero-feeds.js';

/** Reports one problem with the version folder (file or tensor, and the exact difference) and throws. */
export type FailVerification = (subject: string, detail: string) => never;

/**
 * Checks every file a manifest lists against its sha256, and that none leaves the version folder.
 * Shared by the risk-model registry and the embedding model so both refuse the same corruption.
 */
export async function verifyFileHashes(
  dir: string,
  files: Readonly<Record<string, string>>,
  fail: FailVerification,
): Promise<void> {
  for (const [file, expected] of Object.entries(files)) {
    const path = resolve(dir, file);
    if (!path.startsWith(dir + '/')) fail(file, 'path leaves the version folder');
    if (!(await isFile(path))) fail(file, 'listed in manifest files but missing');
    const actual = await fileSha256(path);
    if (actual !== expected) fail(file, `sha256 mismatch: manifest says ${expected}, file is ${actual}`);
  }
}

/** What {@link verifyGraph} found: where the graph runs and whether golden tensors were re-run. */
export interface VerifiedGraph {
  /** The ONNX Runtime execution provider that opened the graph (`cuda`, `cpu`). */
  executionProvider: string;
  golden: 'passed' | 'skipped';
}

/**
 * Opens one ONNX graph through the session factory, compares its signature with the manifest's
 * tensors, optionally warms it up on a zero batch (Triton model warmup), re-runs the folder's golden
 * tensors for it, and releases the session: graphs that serve requests are opened again inside the
 * inference worker threads, so this session only verifies.
 */
export async function verifyGraph(
  graphPath: string,
  tensors: GraphTensors,
  options: { dir: string; sessions: SessionFactory; warmUp: boolean; fail: FailVerification },
): Promise<VerifiedGraph> {
  const { fail } = options;
  const file = graphPath.slice(options.dir.length + 1);
  let opened;
  try {
    opened = await options.sessions.open(graphPath);
  } catch (error) {
    return fail(
      file,
      `ONNX Runtime cannot open it: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const { session, executionProvider } = opened;
  try {
    const mismatches = compareSignature(tensors.inputs, tensors.outputs, {
      inputs: session.inputMetadata as readonly GraphValueInfo[],
      outputs: session.outputMetadata as readonly GraphValueInfo[],
    });
    const first = mismatches[0];
    if (first)
      fail(
        first.subject,
        mismatches.map((m) => (m === first ? m.detail : `${m.subject}: ${m.detail}`)).join('; '),
      );
    // Warm-up: first-request latency then excludes ORT's lazy allocations, and a graph that cannot
    // run at all is caught before the server reports ready.
    if (options.warmUp) {
      try {
        await session.run(toOrtFeeds(zeroFeeds(tensors, 1)));
      } catch (error) {
        fail(file, `warm-up run failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const golden = await checkGoldenTensors(
      options.dir,
      tensors,
      session,
      (t) => new ort.Tensor(t.dtype, t.data, t.dims),
    );
    if (golden.status === 'failed') fail(golden.subject, golden.detail);
    return { executionProvider, golden: golden.status === 'passed' ? 'passed' : 'skipped' };
  } finally {
    await session.release();
  }
}

function toOrtFeeds(feeds: ReturnType<typeof zeroFeeds>): Record<string, ort.Tensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.dtype, t.data, t.dims)]),
  );
}

/** Whether `path` is a regular file (missing or unreadable: false). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads `file` of a model version folder as JSON (a manifest, a vocabulary), failing through `fail`
 * with the file named when it cannot be read or parsed: every registry (risk, embedding, drafting)
 * refuses a folder the same way.
 */
export async function readFolderJson(dir: string, file: string, fail: FailVerification): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(dir, file), 'utf8')) as unknown;
  } catch (error) {
    return fail(file, `cannot be read as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}
