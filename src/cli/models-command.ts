import { resolve } from 'node:path';
import { REPO_ROOT } from '../runtime/open-runtime.js';
import type { Config } from '../config/config-schema.js';
import { loadConfig } from '../config/load-config.js';
import { findDraftModelFolders, verifyDraftModel } from '../inference/runtime/draft-registry.js';
import { verifyEmbeddingModel } from '../inference/runtime/embedding-registry.js';
import type { InferenceLogger } from '../inference/runtime/inference-logger.js';
import { loadModelRegistry, type ModelRegistry, type RegistryVerification } from '../inference/runtime/model-registry.js';
import { createLogger } from '../observability/create-logger.js';

/**
 * `fhir-fusion models list|verify`: loads the model repository exactly as the server does (schema,
 * sha256 of every file, graph tensors against the manifest, golden tensors, warm-up) and prints
 * what would be served, or every problem found.
 */
export async function modelsCommand(action: string): Promise<number> {
  if (action !== 'list' && action !== 'verify') {
    console.error('usage: fhir-fusion models list | verify | evaluate [--only NAME]');
    return 2;
  }
  const config = loadConfig({ FHIR_BASE_URL: 'http://unused.invalid/fhir', ...process.env });
  const logger = createLogger({ level: 'error' });
  if (action === 'list') {
    const registry = await openRegistry(config, logger);
    console.log('model                      provider  outcomes                                   synthetic training data');
    for (const m of registry.list()) {
      const outcomes = m.manifest.outcomes.map((o) => o.coding.display).join(', ');
      console.log(`${m.key.padEnd(26)} ${m.executionProvider.padEnd(9)} ${outcomes.padEnd(42)} ${m.manifest.trainingData.synthetic ? 'yes — not for clinical use' : 'no'}`);
    }
    return 0;
  }
  const result = await verifyModels(config, logger);
  for (const m of result.models) console.log(`${m.ok ? 'ok  ' : 'FAIL'} ${m.key}${m.problems.length ? `: ${m.problems.join('; ')}` : ''}`);
  return result.ok ? 0 : 1;
}

function openRegistry(config: Config, logger: InferenceLogger): Promise<ModelRegistry> {
  return loadModelRegistry({
    modelsDir: resolve(REPO_ROOT, config.MODELS_DIR),
    active: config.ACTIVE_MODELS.length > 0 ? [...config.ACTIVE_MODELS] : undefined,
    executionProviders: [...config.EXECUTION_PROVIDERS],
    logger,
  });
}

/**
 * Every model the server would serve, re-checked: the active risk models, then the similar-case
 * embedding model (`SIMILAR_CASES_MODEL`, unless `off`) with the same checks — its manifest, the
 * sha256 of every file, both encoders' graph signatures and the golden tensors — then every
 * description-drafting model in the repository (`<name>/<version>/draft-manifest.json`: the same
 * checks for its encoder and decoder-step graphs, and a vocabulary without identifier-like tokens).
 */
export async function verifyModels(config: Config, logger: InferenceLogger): Promise<RegistryVerification> {
  const risk = await (await openRegistry(config, logger)).verify();
  const models = [...risk.models];
  if (config.SIMILAR_CASES_MODEL !== 'off') {
    const [name, version] = config.SIMILAR_CASES_MODEL.split('@') as [string, string];
    models.push(
      await verifyEmbeddingModel({
        dir: resolve(REPO_ROOT, config.MODELS_DIR, name, version),
        executionProviders: [...config.EXECUTION_PROVIDERS],
        logger,
      }),
    );
  }
  for (const dir of await findDraftModelFolders(resolve(REPO_ROOT, config.MODELS_DIR)))
    models.push(await verifyDraftModel({ dir, executionProviders: [...config.EXECUTION_PROVIDERS], logger }));
  return { ok: models.every((m) => m.ok), models };
}
