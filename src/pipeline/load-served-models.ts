import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/config-schema.js';
import type { InferenceEngine } from '../inference/runtime/inference-engine.js';
import { createInferenceEngine } from '../inference/runtime/inference-engine.js';
import type { InferenceMetrics } from '../inference/runtime/inference-metrics.js';
import type { StageClock } from '../observability/stage-clock.js';
import { connectKserveV2, type RemoteModelSpec } from '../inference/runtime/kserve-v2-backend.js';
import type { ModelRegistry } from '../inference/runtime/model-registry.js';
import { loadModelRegistry } from '../inference/runtime/model-registry.js';
import type { ServedModel } from '../contracts/served-model.js';

/** The verified models, their cards, and a warmed-up engine serving them. */
export interface ServingModels {
  registry: ModelRegistry;
  models: ServedModel[];
  engine: InferenceEngine;
}

/**
 * Loads and verifies the model repository (`MODELS_DIR`, `ACTIVE_MODELS`, `EXECUTION_PROVIDERS`),
 * reads each model card, and starts the inference engine, resolving once every worker has warmed
 * up (Triton semantics: nothing is served before that) — or, with `INFERENCE_BACKEND=kserve-v2`,
 * once the remote server has confirmed it serves every model as its manifest declares. Shared by
 * the server and the backfill.
 */
export async function loadServedModels(options: {
  config: Config;
  repoRoot: string;
  logger: Logger;
  metrics: InferenceMetrics;
  /** Where the engine charges inference and explanation time (issue 26); absent: not charged. */
  stageClock?: StageClock;
}): Promise<ServingModels> {
  const { config, logger, metrics } = options;
  const registry = await loadModelRegistry({
    modelsDir: resolve(options.repoRoot, config.MODELS_DIR),
    active: config.ACTIVE_MODELS.length > 0 ? [...config.ACTIVE_MODELS] : undefined,
    executionProviders: [...config.EXECUTION_PROVIDERS],
    logger,
    metrics,
  });
  const models: ServedModel[] = await Promise.all(
    registry.list().map(async (m) => ({
      manifest: m.manifest,
      dir: m.dir,
      sha256: m.modelSha256,
      cardMarkdown: await readFile(join(m.dir, 'card.md'), 'utf8'),
    })),
  );
  const engine = createInferenceEngine({
    registry,
    threads: config.INFERENCE_THREADS,
    maxBatchSize: config.BATCH_MAX_SIZE,
    maxQueueDelayMs: config.BATCH_MAX_DELAY_MS,
    queueLimit: config.INFERENCE_QUEUE_LIMIT,
    logger,
    metrics,
    ...(options.stageClock?.enabled ? { stageClock: options.stageClock } : {}),
    ...(config.INFERENCE_BACKEND === 'kserve-v2' && config.KSERVE_BASE_URL
      ? {
          remote: {
            executionProvider: 'kserve-v2',
            connect: (specs: RemoteModelSpec[]) =>
              connectKserveV2({
                baseUrl: config.KSERVE_BASE_URL as string,
                models: specs,
                timeoutMs: config.OUTBOUND_TIMEOUT_MS,
                concurrency: config.INFERENCE_THREADS,
              }),
          },
        }
      : {}),
  });
  try {
    await engine.ready();
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw err;
  }
  return { registry, models, engine };
}
