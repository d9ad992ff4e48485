import { basename, dirname, join, resolve } from 'node:path';
import type { GraphTensorSpec } from '../manifest/golden-check.js';
import { ModelRegistryError } from './inference-errors.js';
import type { RegistryVerification } from './model-registry.js';
import type { SessionFactory } from './onnx-session-factory.js';
import { verifyGraph, type FailVerification } from './verify-graph.js';
import type { WorkerModelSpec } from './worker-protocol.js';

/** A model version folder `<name>/<version>/` being verified, and how its checks fail. */
export interface VersionFolder {
  /** Absolute path. */
  dir: string;
  /** `name@version`, from the folder names. */
  key: string;
  /** Throws a {@link ModelRegistryError} naming the model, the file or tensor, and the difference. */
  fail: FailVerification;
}

/** The identity and failure of the version folder `dir` (Triton model repository layout). */
export function versionFolder(dir: string): VersionFolder {
  const abs = resolve(dir);
  const name = basename(dirname(abs));
  const version = basename(abs);
  return {
    dir: abs,
    key: `${name}@${version}`,
    fail: (subject, detail) => {
      throw new ModelRegistryError(name, version, subject, detail);
    },
  };
}

/** One graph of a model with several (embedding encoders; drafting encoder and decoder), verified. */
export interface RegisteredGraph<S> {
  /** What the worker pool loads: `key` is `name@version/<graph name>`. */
  worker: WorkerModelSpec;
  spec: S;
  golden: 'passed' | 'skipped';
}

/**
 * Verifies one graph of a multi-graph model version ({@link verifyGraph}: signature, warm-up, golden
 * tensors) and describes it for the inference worker pool under `modelKey/graphName`.
 */
export async function registerGraph<
  S extends { file: string; inputs: GraphTensorSpec[]; outputs: GraphTensorSpec[] },
>(
  folder: Pick<VersionFolder, 'dir' | 'fail'>,
  modelKey: string,
  graphName: string,
  spec: S,
  sessions: SessionFactory,
): Promise<RegisteredGraph<S>> {
  const modelPath = join(folder.dir, spec.file);
  const verified = await verifyGraph(modelPath, spec, {
    dir: folder.dir,
    sessions,
    warmUp: true,
    fail: folder.fail,
  });
  return {
    worker: {
      key: `${modelKey}/${graphName}`,
      modelPath,
      executionProvider: verified.executionProvider,
      inputs: spec.inputs,
    },
    spec,
    golden: verified.golden,
  };
}

/**
 * Runs a folder's loader for `fhir-fusion models verify`: the same checks the server runs at start,
 * with the problem reported (as `ModelRegistry.verify` reports a risk model's) instead of thrown.
 */
export async function reportVerification(
  dir: string,
  load: () => Promise<unknown>,
): Promise<RegistryVerification['models'][number]> {
  const { key } = versionFolder(dir);
  try {
    await load();
    return { key, ok: true, problems: [] };
  } catch (error) {
    return { key, ok: false, problems: [error instanceof Error ? error.message : String(error)] };
  }
}
