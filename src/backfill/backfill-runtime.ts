import { join } from 'node:path';
import type { Logger } from 'pino';
import { assembleFromResources } from '../assembly/assemble-patient.js';
import { REPO_ROOT } from '../app.js';
import type { Config } from '../config/config-schema.js';
import { createEhrAuth } from '../fhir/ehr-auth.js';
import { createEhrClient } from '../fhir/ehr-client.js';
import { createEhrFetch } from '../fhir/ehr-fetch.js';
import type { FetchLike } from '../contracts/fetch-like.js';
import { createInferenceMetrics } from '../inference/runtime/inference-metrics.js';
import { createMetrics } from '../observability/create-metrics.js';
import { loadServedModels } from '../pipeline/load-served-models.js';
import { assemblyWindows, createPipelineStages } from '../pipeline/pipeline-stages.js';
import { openDatabase } from '../store/database.js';
import { runMigrations } from '../store/migrate.js';
import { indexSimilarCase, openSimilarCases } from '../similar-cases/open-similar-cases.js';
import { createProfileValidator } from '../writeback/validate-profiles.js';
import type { BackfillDeps } from './run-backfill.js';

/** A backfill's process-wide resources, opened from configuration. */
export interface BackfillRuntime {
  deps: BackfillDeps;
  close(): Promise<void>;
}

/**
 * Opens what a backfill needs from the same configuration as `serve`: the database (migrated),
 * the active models and the inference engine, and the EHR fetch with its auth (SMART Backend
 * Services or bearer), and binds the pipeline's own predict and write stages, so a backfilled
 * assessment is built and written exactly like a notified one.
 */
export async function openBackfillRuntime(config: Config, logger: Logger, fetch?: FetchLike): Promise<BackfillRuntime> {
  const closers: Array<() => Promise<void>> = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const database = await openDatabase({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      embeddedPort: config.EMBEDDED_POSTGRES_PORT,
      logger,
    });
    closers.push(() => database.close());
    await runMigrations(database.pool, join(REPO_ROOT, 'migrations'), logger);
    const metrics = createMetrics();
    const inferenceMetrics = createInferenceMetrics(metrics.registry);
    const { models, engine } = await loadServedModels({ config, repoRoot: REPO_ROOT, logger, metrics: inferenceMetrics });
    closers.push(() => engine.close());
    const ehrAuth = await createEhrAuth(config, fetch);
    const outbound = createEhrFetch(config, fetch, ehrAuth?.request);
    const ehr = createEhrClient({ fhirBaseUrl: config.FHIR_BASE_URL, fetch: outbound.fetch });
    const writebackEhr = config.WRITEBACK_FHIR_BASE_URL
      ? createEhrClient({ fhirBaseUrl: config.WRITEBACK_FHIR_BASE_URL, fetch: outbound.fetch })
      : ehr;
    const stages = createPipelineStages({
      config,
      ehr,
      writebackEhr,
      engine,
      outbound,
      metrics,
      models: () => models,
      validator: createProfileValidator(),
    });
    const similarCases = await openSimilarCases(config, database.pool, REPO_ROOT, logger);
    if (similarCases) closers.push(() => similarCases.close());
    const manifests = models.map((m) => m.manifest);
    const imageModalities = [...new Set(manifests.flatMap((m) => m.preprocessing.image?.modalities ?? []))];
    const deps: BackfillDeps = {
      pool: database.pool,
      logger,
      fetch: outbound.fetch,
      models,
      predict: stages.predict,
      write: stages.write,
      ...(similarCases ? { afterScoring: indexSimilarCase(similarCases, metrics, logger) } : {}),
      assemble: (resources, asOf) =>
        assembleFromResources(resources, {
          windows: assemblyWindows(manifests),
          image: { modalities: imageModalities },
          dicom: {
            fetch: outbound.dicomFetch,
            allowList: outbound.allowList,
            defaultBaseUrl: config.DICOMWEB_BASE_URL,
            maxBytes: 64 * 1024 * 1024,
          },
          asOf,
        }),
    };
    return { deps, close };
  } catch (err) {
    await close();
    throw err;
  }
}
