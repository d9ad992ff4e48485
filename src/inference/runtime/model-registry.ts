import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelRegistryError } from './inference-errors.js';
import type { InferenceLogger } from './inference-logger.js';
import type { InferenceMetrics } from './inference-metrics.js';
import { createManifestValidator, type ManifestValidator } from '../manifest/manifest-schema.js';
import type { ModelManifest } from '../../contracts/manifest-types.js';
import { createSessionFactory, type SessionFactory, type SessionTuning } from './onnx-session-factory.js';
import { isFile, readFolderJson, verifyFileHashes, verifyGraph } from './verify-graph.js';

/** One active, verified model version. */
export interface RegisteredModel {
  name: string;
  version: string;
  /** `name@version`, the key used by workers, batcher and metrics. */
  key: string;
  /** Absolute path of the version folder. */
  dir: string;
  /** Absolute path of `model.onnx`. */
  modelPath: string;
  manifest: ModelManifest;
  /** sha256 of model.onnx (for Device and Provenance). */
  modelSha256: string;
  /** The ONNX Runtime execution provider that opened the model (`cuda`, `cpu`). */
  executionProvider: string;
  /** Whether the folder's golden tensors (`golden-input-*.npy`, `golden-output-*.npy`) were re-run and matched, or there were none. */
  golden: 'passed' | 'skipped';
}

/** Result of {@link ModelRegistry.verify}: every active model re-checked, problems collected. */
export interface RegistryVerification {
  ok: boolean;
  models: Array<{ key: string; ok: boolean; problems: string[] }>;
}

/** The set of active models, loaded and verified at start-up (Triton model repository semantics). */
export interface ModelRegistry {
  /** Active models, ordered by name then version. */
  list(): RegisteredModel[];
  /** A model by name and version; without a version, the highest active version. */
  get(name: string, version?: string): RegisteredModel | undefined;
  /** Re-reads manifests, re-hashes files and re-checks graphs (for `fhir-fusion models verify`). */
  verify(): Promise<RegistryVerification>;
  /** Execution providers as configured, in order of preference. */
  readonly executionProviders: readonly string[];
  /** Session tuning the workers should reuse. */
  readonly tuning: SessionTuning;
}

/** Options for {@link loadModelRegistry}. */
export interface ModelRegistryOptions {
  /** The model repository: `<modelsDir>/<name>/<version>/{manifest.json, model.onnx, ...}`. */
  modelsDir: string;
  /** `name@version` entries to serve; all versions found when omitted. */
  active?: string[];
  /** ONNX Runtime execution providers in order of preference, e.g. `['cuda', 'cpu']`. */
  executionProviders: string[];
  logger: InferenceLogger;
  metrics?: InferenceMetrics;
  tuning?: SessionTuning;
}

/**
 * Scans the model repository, validates every active version and warms each up; throws a
 * {@link ModelRegistryError} naming model, version, file or tensor and the exact difference on the
 * first problem, so the server refuses to start rather than serve a model it cannot trust.
 */
export async function loadModelRegistry(options: ModelRegistryOptions): Promise<ModelRegistry> {
  const modelsDir = resolve(options.modelsDir);
  const validator = createManifestValidator();
  const sessions = createSessionFactory(options.executionProviders, options.logger, options.tuning);
  const folders = await selectVersionFolders(modelsDir, options.active);
  const models: RegisteredModel[] = [];
  for (const folder of folders) {
    const model = await loadVersion(folder, validator, sessions, true);
    options.logger.info(
      { model: model.key, executionProvider: model.executionProvider, golden: model.golden },
      'model loaded, verified and warmed up',
    );
    options.metrics?.modelInfo.set(
      { model: model.name, version: model.version, execution_provider: model.executionProvider },
      1,
    );
    models.push(model);
  }
  models.sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version));
  return {
    executionProviders: [...options.executionProviders],
    tuning: { ...options.tuning },
    list: () => [...models],
    get(name, version) {
      const candidates = models.filter(
        (m) => m.name === name && (version === undefined || m.version === version),
      );
      return candidates[candidates.length - 1];
    },
    async verify() {
      const results = [];
      for (const model of models) {
        try {
          await loadVersion(
            { name: model.name, version: model.version, dir: model.dir },
            validator,
            sessions,
            false,
          );
          results.push({ key: model.key, ok: true, problems: [] });
        } catch (error) {
          results.push({
            key: model.key,
            ok: false,
            problems: [error instanceof Error ? error.message : String(error)],
          });
        }
      }
      return { ok: results.every((r) => r.ok), models: results };
    },
  };
}

interface VersionFolder {
  name: string;
  version: string;
  dir: string;
}

/** Version folders are those holding a manifest.json; others (e.g. `models/training/`) are not models. */
async function selectVersionFolders(
  modelsDir: string,
  active: string[] | undefined,
): Promise<VersionFolder[]> {
  const found: VersionFolder[] = [];
  for (const name of await listDirs(modelsDir)) {
    for (const version of await listDirs(join(modelsDir, name))) {
      const dir = join(modelsDir, name, version);
      if (await isFile(join(dir, 'manifest.json'))) found.push({ name, version, dir });
    }
  }
  if (!active) {
    if (found.length === 0)
      throw new ModelRegistryError(
        '*',
        '*',
        modelsDir,
        'no model versions found (expected <name>/<version>/manifest.json)',
      );
    return found;
  }
  return active.map((entry) => {
    const at = entry.lastIndexOf('@');
    const [name, version] = at > 0 ? [entry.slice(0, at), entry.slice(at + 1)] : [entry, ''];
    const match = found.find((f) => f.name === name && f.version === version);
    if (!match) {
      const available = found.map((f) => `${f.name}@${f.version}`).join(', ') || 'none';
      throw new ModelRegistryError(
        name,
        version || '?',
        'active',
        `'${entry}' not found in ${modelsDir} (available: ${available})`,
      );
    }
    return match;
  });
}

async function loadVersion(
  folder: VersionFolder,
  validator: ManifestValidator,
  sessions: SessionFactory,
  warmUp: boolean,
): Promise<RegisteredModel> {
  const fail = (subject: string, detail: string): never => {
    throw new ModelRegistryError(folder.name, folder.version, subject, detail);
  };
  const json = await readFolderJson(folder.dir, 'manifest.json', fail);
  const parsed = validator(json);
  if (!parsed.ok)
    return fail('manifest.json', parsed.issues.map((i) => `${i.pointer || '/'} ${i.message}`).join('; '));
  const manifest = parsed.value;
  if (manifest.name !== folder.name)
    fail('manifest.json', `/name is '${manifest.name}' but the folder is '${folder.name}'`);
  if (manifest.version !== folder.version)
    fail('manifest.json', `/version is '${manifest.version}' but the folder is '${folder.version}'`);

  await verifyFileHashes(folder.dir, manifest.files, fail);
  const modelPath = join(folder.dir, 'model.onnx');
  const { executionProvider, golden } = await verifyGraph(modelPath, manifest, {
    dir: folder.dir,
    sessions,
    warmUp,
    fail,
  });
  return {
    name: folder.name,
    version: folder.version,
    key: `${folder.name}@${folder.version}`,
    dir: folder.dir,
    modelPath,
    manifest,
    modelSha256: manifest.files['model.onnx'] ?? '',
    executionProvider,
    golden,
  };
}

async function listDirs(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new ModelRegistryError(
      '*',
      '*',
      dir,
      `cannot read the model repository: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/** Orders versions numerically where they are numeric (`1.10.0` after `1.9.0`), lexically otherwise. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
