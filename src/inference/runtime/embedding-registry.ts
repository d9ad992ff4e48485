import { basename, dirname, join, resolve } from 'node:path';
import {
  parseEmbeddingManifest,
  type EmbeddingModelManifest,
  type EncoderSpec,
} from '../manifest/embedding-manifest.js';
import { ModelRegistryError } from './inference-errors.js';
import type { InferenceLogger } from './inference-logger.js';
import { createSessionFactory, type SessionTuning } from './onnx-session-factory.js';
import { readFolderJson, verifyFileHashes, verifyGraph } from './verify-graph.js';
import type { RegistryVerification } from './model-registry.js';
import type { WorkerModelSpec } from './worker-protocol.js';

/** The two graphs of a dual-encoder embedding model. */
export type EncoderName = 'ecg' | 'text';

/** One verified encoder graph, ready for the inference workers to open. */
export interface RegisteredEncoder {
  /** What the worker pool loads: `key` is `name@version/ecg` or `name@version/text`. */
  worker: WorkerModelSpec;
  spec: EncoderSpec;
  golden: 'passed' | 'skipped';
}

/** A verified embedding model version (`models/<name>/<version>/embedding-manifest.json`). */
export interface RegisteredEmbeddingModel {
  name: string;
  version: string;
  /** `name@version`, stored with every indexed embedding. */
  key: string;
  dir: string;
  manifest: EmbeddingModelManifest;
  encoders: Record<EncoderName, RegisteredEncoder>;
}

/** Options for {@link loadEmbeddingRegistration}. */
export interface EmbeddingRegistrationOptions {
  /** The version folder, holding `embedding-manifest.json`. */
  dir: string;
  /** ONNX Runtime execution providers in order of preference, with the registry's fallback. */
  executionProviders: readonly string[];
  logger: InferenceLogger;
  tuning?: SessionTuning;
}

/**
 * Verifies an embedding model version exactly as {@link loadModelRegistry} verifies a risk model
 * (Triton model repository semantics): the manifest's schema and rules, the sha256 of every file,
 * each encoder's graph signature, a warm-up run and the folder's golden tensors. Throws a
 * {@link ModelRegistryError} naming the file or tensor and the exact difference, so the server
 * refuses to start rather than index with a model it cannot trust. The graphs are then served by
 * the inference worker threads (see `worker-pool.ts`), never on the main thread.
 */
export async function loadEmbeddingRegistration(
  options: EmbeddingRegistrationOptions,
): Promise<RegisteredEmbeddingModel> {
  const dir = resolve(options.dir);
  const folder = { name: basename(dirname(dir)), version: basename(dir) };
  const fail = (subject: string, detail: string): never => {
    throw new ModelRegistryError(folder.name, folder.version, subject, detail);
  };
  const json = await readFolderJson(dir, 'embedding-manifest.json', fail);
  const parsed = parseEmbeddingManifest(json);
  if (!parsed.ok) return fail('embedding-manifest.json', parsed.problems.join('; '));
  const manifest = parsed.value;
  await verifyFileHashes(dir, manifest.files, fail);
  const key = `${manifest.name}@${manifest.version}`;
  const sessions = createSessionFactory(options.executionProviders, options.logger, options.tuning);
  const encoders = {} as Record<EncoderName, RegisteredEncoder>;
  for (const name of ['ecg', 'text'] as const) {
    const spec = manifest.encoders[name];
    const graphPath = join(dir, spec.file);
    const verified = await verifyGraph(graphPath, spec, { dir, sessions, warmUp: true, fail });
    encoders[name] = {
      worker: {
        key: `${key}/${name}`,
        modelPath: graphPath,
        executionProvider: verified.executionProvider,
        inputs: spec.inputs,
      },
      spec,
      golden: verified.golden,
    };
  }
  options.logger.info(
    {
      model: key,
      executionProvider: encoders.ecg.worker.executionProvider,
      golden: encoders.ecg.golden === 'passed' && encoders.text.golden === 'passed' ? 'passed' : 'skipped',
    },
    'embedding model loaded, verified and warmed up',
  );
  return { name: manifest.name, version: manifest.version, key, dir, manifest, encoders };
}

/**
 * Re-checks an embedding model version for `fhir-fusion models verify`: the same checks as
 * {@link loadEmbeddingRegistration} (manifest, sha256 of every file, both graph signatures, warm-up,
 * golden tensors), with the problem reported as a risk model's is by `ModelRegistry.verify`
 * instead of thrown.
 */
export async function verifyEmbeddingModel(
  options: EmbeddingRegistrationOptions,
): Promise<RegistryVerification['models'][number]> {
  const dir = resolve(options.dir);
  const key = `${basename(dirname(dir))}@${basename(dir)}`;
  try {
    await loadEmbeddingRegistration(options);
    return { key, ok: true, problems: [] };
  } catch (error) {
    return { key, ok: false, problems: [error instanceof Error ? error.message : String(error)] };
  }
}
