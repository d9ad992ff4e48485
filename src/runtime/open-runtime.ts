import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MedplumClient } from '@medplum/core';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config/config-schema.js';
import { createEhrAuth } from '../fhir/ehr-auth.js';
import type { EhrAuth } from '../fhir/ehr-auth.js';
import { createEhrClient } from '../fhir/ehr-client.js';
import { createEhrFetch } from '../fhir/ehr-fetch.js';
import type { EhrFetch } from '../fhir/ehr-fetch.js';
import type { FetchLike } from '../contracts/fetch-like.js';
import type { InferenceEngine } from '../inference/runtime/inference-engine.js';
import { createInferenceMetrics } from '../inference/runtime/inference-metrics.js';
import { createMetrics } from '../observability/create-metrics.js';
import type { Metrics } from '../observability/create-metrics.js';
import { createLogSpanExporter, createTracedFetch, startTracing } from '../observability/tracing.js';
import type { Tracing } from '../observability/tracing.js';
import type { AssessPatientDeps } from '../pipeline/stage-types.js';
import { loadServedModels } from '../pipeline/load-served-models.js';
import { createPipelineStages } from '../pipeline/pipeline-stages.js';
import type { DrafterFactory, ServedDrafter } from '../pipeline/draft-description.js';
import type { ServedModel } from '../contracts/served-model.js';
import { createAuditedFetch, startAuditRetention } from '../security/audit-trail.js';
import { indexSimilarCase, openSimilarCases } from '../similar-cases/open-similar-cases.js';
import type { SimilarCases } from '../similar-cases/similar-cases-plugin.js';
import { openDatabase } from '../store/database.js';
import type { Database } from '../store/database.js';
import { runMigrations } from '../store/migrate.js';
import { ensureR4DefinitionsIndexed } from '../writeback/index-r4-definitions.js';
import { startThreadedProfileValidator } from '../writeback/threaded-validator.js';
import type { R4TypeIndex } from '../writeback/index-r4-definitions.js';
import { createProfileValidator } from '../writeback/validate-profiles.js';
import type { ProfileValidator } from '../writeback/validate-profiles.js';

/** Repository root (migrations and models are resolved from here unless configured). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** What to open: see {@link openRuntime}. */
export interface RuntimeOptions {
  config: Config;
  logger: Logger;
  /**
   * Whether to load the models and the inference engine (and so bind the pipeline). The `intake`
   * role of `serve` takes notifications only and loads none; everything else does.
   */
  loadModels?: boolean;
  /** Replaces global fetch for outbound calls (tests). It is wrapped like the global one. */
  fetch?: FetchLike;
  /**
   * Builds the drafting model named by `DESCRIPTION_MODEL` (issue #20); passed in (from `main.ts`)
   * rather than imported, so the runtime does not depend on how a drafter is made. Required unless
   * `DESCRIPTION_MODEL=off`.
   */
  openDrafter?: DrafterFactory;
}

/** Models, engine and the per-patient pipeline bound to them (absent when models are not loaded). */
export interface RuntimeServing {
  /** The active models, verified and warmed. */
  models: ServedModel[];
  engine: InferenceEngine;
  /** The per-patient job's stages and dependencies, bound to this runtime. */
  pipeline: AssessPatientDeps;
  /** The drafting model, unless `DESCRIPTION_MODEL=off`. */
  drafter: ServedDrafter | undefined;
}

/**
 * Everything fhir-fusion opens once per process, from configuration. `serve` (through `app.ts`),
 * `backfill`, the CLI and the benchmarks all use this one composition root, so they cannot drift
 * (issue #22): every EHR and PACS call goes through the audited (and, when enabled, traced) fetch.
 */
export interface Runtime {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  database: Database;
  /** Shorthand for `database.pool`. */
  pool: Pool;
  /** OpenTelemetry, when `TRACING_ENABLED`. */
  tracing: Tracing | undefined;
  /** SMART Backend Services / bearer auth of outbound EHR calls (undefined when `FHIR_AUTH=none`). */
  ehrAuth: EhrAuth | undefined;
  /** Allow-listed, audited (ehr_audit), traced and authenticated EHR and PACS fetches. */
  outbound: EhrFetch;
  /** The fetch tests passed in, or undefined for global fetch: for calls that are not to our EHR. */
  baseFetch: FetchLike | undefined;
  /** The EHR read client. */
  ehr: MedplumClient;
  /** The write-back client (the EHR itself unless `WRITEBACK_FHIR_BASE_URL` is set). */
  writebackEhr: MedplumClient;
  /** Medplum's type index (its one writer ran), and the profile validator over it. */
  typeIndex: R4TypeIndex;
  validator: ProfileValidator;
  /** Similar-case retrieval, unless `SIMILAR_CASES_MODEL=off`. */
  similarCases: SimilarCases | undefined;
  /** Models, engine and pipeline; undefined when models were not loaded. */
  serving: RuntimeServing | undefined;
  /** The served models, or none. */
  models(): ServedModel[];
  /**
   * Adds a step to the closer stack: {@link Runtime.close} runs it before everything opened
   * earlier (reverse order). For things the caller opens over the runtime (queue, workers).
   */
  defer(close: () => Promise<void>): void;
  /** Closes everything in reverse order of opening; a failing step is logged, the rest still run. */
  close(): Promise<void>;
}

/**
 * The drafting model `DESCRIPTION_MODEL` names, built by `factory`; undefined when it is `off`. A
 * named model without a factory to build it fails start-up naming the setting, rather than
 * silently drafting nothing.
 */
async function openConfiguredDrafter(config: Config, factory: DrafterFactory | undefined): Promise<ServedDrafter | undefined> {
  if (config.DESCRIPTION_MODEL === 'off') return undefined;
  const [name = '', version = ''] = config.DESCRIPTION_MODEL.split('@');
  if (!factory) {
    throw new Error(`DESCRIPTION_MODEL=${config.DESCRIPTION_MODEL}: this build has no description drafter to load it; set DESCRIPTION_MODEL=off`);
  }
  return factory({ name, version, modelsDir: resolve(REPO_ROOT, config.MODELS_DIR) });
}

/** A stack of closers run in reverse; errors in one do not skip the others. */
function closerStack(logger: Logger): { push(close: () => Promise<void>): void; closeAll(): Promise<void> } {
  const closers: Array<() => Promise<void>> = [];
  let closing: Promise<void> | undefined;
  return {
    push: (close) => void closers.push(close),
    closeAll: () =>
      (closing ??= (async () => {
        while (closers.length > 0) {
          const close = closers.pop()!;
          try {
            await close();
          } catch (err) {
            logger.error({ err: { message: (err as Error).message } }, 'shutdown step failed');
          }
        }
      })()),
  };
}

/**
 * Opens, in this order: the database and its migrations, medplum's R4 type index (its one writer)
 * and the profile validator, tracing, the audited and traced EHR/PACS fetch with its auth, the EHR
 * clients, the similar-case index, and (unless `loadModels` is false) the models, the inference
 * engine and the pipeline bound to them. If any step fails, what was already opened is closed and
 * the error is rethrown.
 */
export async function openRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, logger } = options;
  const stack = closerStack(logger);
  try {
    const metrics = createMetrics({ stageCpuAccounting: config.STAGE_CPU_ACCOUNTING });
    stack.push(async () => metrics.stageClock.stop());
    const database = await openDatabase({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      embeddedPort: config.EMBEDDED_POSTGRES_PORT,
      logger,
    });
    stack.push(() => database.close());
    await runMigrations(database.pool, join(REPO_ROOT, 'migrations'), logger);

    const typeIndex = ensureR4DefinitionsIndexed();
    const validator = createProfileValidator(typeIndex);

    // OpenTelemetry (off by default): client spans with traceparent on EHR calls.
    const tracing = config.TRACING_ENABLED ? startTracing({ exporter: createLogSpanExporter(logger) }) : undefined;
    if (tracing) stack.push(() => tracing.shutdown());
    const ehrAuth = await createEhrAuth(config, options.fetch);
    // Every call to the EHR and the PACS is recorded in ehr_audit (who, what, when, why).
    const audited = createAuditedFetch({
      db: database.pool,
      agent: config.SMART_CLIENT_ID ?? 'fhir-fusion',
      fetch: tracing ? createTracedFetch(tracing.tracer, options.fetch) : options.fetch,
    });
    stack.push(startAuditRetention({ db: database.pool, retentionDays: config.AUDIT_RETENTION_DAYS, logger }));
    const outbound = createEhrFetch(config, audited, ehrAuth?.request);
    const ehr = createEhrClient({ fhirBaseUrl: config.FHIR_BASE_URL, fetch: outbound.fetch });
    const writebackEhr = config.WRITEBACK_FHIR_BASE_URL
      ? createEhrClient({ fhirBaseUrl: config.WRITEBACK_FHIR_BASE_URL, fetch: outbound.fetch })
      : ehr;

    const similarCases = await openSimilarCases(config, database.pool, REPO_ROOT, logger);
    if (similarCases) stack.push(() => similarCases.close());

    const inferenceMetrics = createInferenceMetrics(metrics.registry);
    let serving: RuntimeServing | undefined;
    if (options.loadModels ?? true) {
      const loaded = await loadServedModels({
        config,
        repoRoot: REPO_ROOT,
        logger,
        metrics: inferenceMetrics,
        stageClock: metrics.stageClock,
      });
      const { engine, models } = loaded;
      stack.push(() => engine.close());
      for (const m of loaded.registry.list()) {
        // With a remote backend the batches run there, whatever the local verification ran on.
        metrics.executionProvider.set(
          { model: m.key, provider: config.INFERENCE_BACKEND === 'kserve-v2' ? 'kserve-v2' : m.executionProvider },
          1,
        );
      }
      // Issue 26: off the event loop by default; the worker indexes its own copy of the definitions.
      const threaded = config.VALIDATION_WORKER
        ? await startThreadedProfileValidator({ onCpu: (ms) => metrics.stageClock.add('validation', ms) })
        : undefined;
      if (threaded) stack.push(() => threaded.close());
      const drafter = await openConfiguredDrafter(config, options.openDrafter);
      if (drafter) stack.push(() => drafter.drafter.close());
      const stages = createPipelineStages({
        config,
        ehr,
        writebackEhr,
        engine,
        outbound,
        metrics,
        models: () => models,
        validator: threaded ?? validator,
        logger,
        ...(drafter ? { drafter } : {}),
      });
      serving = {
        models,
        engine,
        drafter,
        pipeline: {
          pool: database.pool,
          logger,
          metrics,
          models: () => models,
          assemble: stages.assemble,
          predict: stages.predict,
          write: stages.write,
          locate: stages.locate,
          ...(stages.draft ? { draft: stages.draft } : {}),
          ...(similarCases ? { afterScoring: indexSimilarCase(similarCases, metrics, logger) } : {}),
        },
      };
    }

    return {
      config,
      logger,
      metrics,
      database,
      pool: database.pool,
      tracing,
      ehrAuth,
      outbound,
      baseFetch: options.fetch,
      ehr,
      writebackEhr,
      typeIndex,
      validator,
      similarCases,
      serving,
      models: () => serving?.models ?? [],
      defer: (close) => stack.push(close),
      close: () => stack.closeAll(),
    };
  } catch (err) {
    await stack.closeAll();
    throw err;
  }
}
