import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseDraftManifest,
  type DraftGraphSpec,
  type DraftModelManifest,
} from '../manifest/draft-manifest.js';
import type { InferenceLogger } from './inference-logger.js';
import type { RegistryVerification } from './model-registry.js';
import { createSessionFactory, type SessionTuning } from './onnx-session-factory.js';
import { isFile, readFolderJson, verifyFileHashes } from './verify-graph.js';
import { registerGraph, reportVerification, versionFolder, type RegisteredGraph } from './version-folder.js';

/** One verified graph of the drafting model, ready for the inference workers to open. */
export type RegisteredDraftGraph = RegisteredGraph<DraftGraphSpec>;

/** A verified drafting model version (`models/<name>/<version>/draft-manifest.json`). */
export interface RegisteredDraftModel {
  name: string;
  version: string;
  key: string;
  dir: string;
  manifest: DraftModelManifest;
  graphs: { encoder: RegisteredDraftGraph; decoder: RegisteredDraftGraph };
  /** The words the decoder can emit, by id. */
  tokens: readonly string[];
  /** sha256 over the sha256 of both graphs and the vocabulary (`file:sha256` lines, sorted): the model's identity. */
  modelSha256: string;
}

/** Options for {@link loadDraftRegistration}. */
export interface DraftRegistrationOptions {
  /** The version folder, holding `draft-manifest.json`. */
  dir: string;
  executionProviders: readonly string[];
  logger: InferenceLogger;
  tuning?: SessionTuning;
}

/** Special tokens the decoder needs at the ids the manifest names. */
const SPECIAL = ['<pad>', '<bos>', '<eos>', '<unk>'] as const;

/**
 * A vocabulary entry the drafter may emit: lower-case letters only, or sentence punctuation. A
 * digit, `@`, `/` or upper-case letter is how an identifier, date or name would get in (an MRN, an
 * accession number, "Synthia"), so a vocabulary holding one is refused and the model never loads.
 */
const SAFE_WORD = /^(?:[a-z]+|[.,;])$/;

/** Parses `{"tokens": [...]}` and checks the special ids and that no token is identifier-like. */
export function checkDraftVocabulary(
  json: unknown,
  decoding: DraftModelManifest['decoding'],
): string[] | string {
  const tokens = (json as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(tokens) || !tokens.every((t): t is string => typeof t === 'string'))
    return 'must be {"tokens": [string, ...]}';
  const ids = {
    '<pad>': decoding.padId,
    '<bos>': decoding.bosId,
    '<eos>': decoding.eosId,
    '<unk>': decoding.unknownId,
  };
  for (const s of SPECIAL) if (tokens[ids[s]] !== s) return `token ${ids[s]} must be ${s} (decoding ids)`;
  const bad = tokens.findIndex((t, i) => !Object.values(ids).includes(i) && !SAFE_WORD.test(t));
  if (bad >= 0)
    return `token ${bad} ${JSON.stringify(tokens[bad])} is not a lower-case word or . , ; (identifier-like tokens are refused)`;
  if (new Set(tokens).size !== tokens.length) return 'tokens must be unique';
  return tokens;
}

/**
 * Verifies a drafting model version as the registry verifies a risk model (Triton model repository
 * semantics): the manifest's schema and rules, the sha256 of every file, both graphs' signatures, a
 * warm-up run, the golden tensors of each graph, and a vocabulary that cannot spell an identifier.
 * Throws a {@link ModelRegistryError} naming the file or tensor and the difference.
 */
export async function loadDraftRegistration(
  options: DraftRegistrationOptions,
): Promise<RegisteredDraftModel> {
  const folder = versionFolder(options.dir);
  const { dir, fail } = folder;
  const json = await readFolderJson(dir, 'draft-manifest.json', fail);
  const parsed = parseDraftManifest(json);
  if (!parsed.ok) return fail('draft-manifest.json', parsed.problems.join('; '));
  const manifest = parsed.value;
  await verifyFileHashes(dir, manifest.files, fail);
  const vocabularyJson = await readFolderJson(dir, manifest.vocabulary, fail);
  const tokens = checkDraftVocabulary(vocabularyJson, manifest.decoding);
  if (typeof tokens === 'string') return fail(manifest.vocabulary, tokens);
  const key = `${manifest.name}@${manifest.version}`;
  const sessions = createSessionFactory(options.executionProviders, options.logger, options.tuning);
  const graphs = {} as RegisteredDraftModel['graphs'];
  for (const name of ['encoder', 'decoder'] as const) {
    const spec = manifest.graphs[name];
    const logits = spec.outputs.find((t) => t.name === 'logits');
    if (logits && logits.shape[1] !== tokens.length)
      fail(spec.file, `logits width ${logits.shape[1]} in manifest, vocabulary has ${tokens.length} tokens`);
    graphs[name] = await registerGraph(folder, key, name, spec, sessions);
  }
  const identity = [manifest.graphs.encoder.file, manifest.graphs.decoder.file, manifest.vocabulary]
    .sort()
    .map((f) => `${f}:${manifest.files[f]}\n`)
    .join('');
  options.logger.info(
    { model: key, executionProvider: graphs.encoder.worker.executionProvider, golden: graphs.decoder.golden },
    'drafting model loaded, verified and warmed up',
  );
  return {
    name: manifest.name,
    version: manifest.version,
    key,
    dir,
    manifest,
    graphs,
    tokens,
    modelSha256: createHash('sha256').update(identity).digest('hex'),
  };
}

/**
 * Re-checks a drafting model version for `fhir-fusion models verify`: the checks of
 * {@link loadDraftRegistration}, with the problem reported instead of thrown.
 */
export async function verifyDraftModel(
  options: DraftRegistrationOptions,
): Promise<RegistryVerification['models'][number]> {
  return reportVerification(options.dir, () => loadDraftRegistration(options));
}

/**
 * Every drafting model version under a model repository: the `<name>/<version>/` folders that hold
 * a `draft-manifest.json`, sorted, so `models verify` checks each without a setting naming them.
 */
export async function findDraftModelFolders(modelsDir: string): Promise<string[]> {
  const found: string[] = [];
  const entries = async (dir: string) => {
    try {
      return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  };
  for (const name of (await entries(modelsDir)).sort())
    for (const version of (await entries(join(modelsDir, name))).sort())
      if (await isFile(join(modelsDir, name, version, 'draft-manifest.json')))
        found.push(join(modelsDir, name, version));
  return found;
}
