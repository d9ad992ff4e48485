import {
  parseEmbeddingManifest,
  type EmbeddingModelManifest,
  type EncoderSpec,
} from '../manifest/embedding-manifest.js';
import type { InferenceLogger } from './inference-logger.js';
import { createSessionFactory, type SessionTuning } from './onnx-session-factory.js';
import { readFolderJson, verifyFileHashes } from './verify-graph.js';
import { registerGraph, reportVerification, versionFolder, type RegisteredGraph } from './version-folder.js';
import type { RegistryVerification } from './model-registry.js';

/** The two graphs of a dual-encoder embedding model. */
export type EncoderName = 'ecg' | 'text';

/** One verified encoder graph, ready for the inference workers to open. */
export type RegisteredEncoder = RegisteredGraph<EncoderSpec>;

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
  const folder = versionFolder(options.dir);
  const { dir, fail } = folder;
  const json = await readFolderJson(dir, 'embedding-manifest.json', fail);
  const parsed = parseEmbeddingManifest(json);
  if (!parsed.ok) return fail('embedding-manifest.json', parsed.problems.join('; '));
  const manifest = parsed.value;
  await verifyFileHashes(dir, manifest.files, fail);
  const key = `${manifest.name}@${manifest.version}`;
  const sessions = createSessionFactory(options.executionProviders, options.logger, options.tuning);
  const encoders = {} as Record<EncoderName, RegisteredEncoder>;
  for (const name of ['ecg', 'text'] as const) {
    encoders[name] = await registerGraph(folder, key, name, manifest.encoders[name], sessions);
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
  return reportVerification(options.dir, () => loadEmbeddingRegistration(options));
}
