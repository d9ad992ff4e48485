import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from './config/config-schema.js';
import { createEhrClient } from './fhir/ehr-client.js';
import { createEhrFetch } from './fhir/ehr-fetch.js';
import { createEhrAuth, jwksRoute } from './fhir/ehr-auth.js';
import { reviewAppPlugin } from './review/smart-app/review-app-plugin.js';
import { indexSimilarCase, openSimilarCases, reviewSimilarCases } from './similar-cases/open-similar-cases.js';
import { similarCasesPlugin } from './similar-cases/similar-cases-plugin.js';
import { reviewThumbnails } from './review/smart-app/image-thumbnail.js';
import { assessmentsPage } from './http/assessments-page.js';
import { installErrorHandlers } from './http/error-handler.js';
import { cdsHooksPlugin } from './review/cds-hooks/cds-hooks-plugin.js';
import { healthRoutes } from './http/health-routes.js';
import { securityOptions, securityPlugin } from './security/security-plugin.js';
import { createAuditedFetch, startAuditRetention } from './security/audit-trail.js';
import { createLogSpanExporter, createTracedFetch, startTracing, tracingPlugin } from './observability/tracing.js';
import { intakeRoutes } from './intake/intake-routes.js';
import { startIntakeWorkers } from './intake/intake-workers.js';
import { createIntakeAlerts } from './intake/intake-alerts.js';
import { createAssessmentQueue } from './jobs/assessment-queue.js';
import { createMetrics } from './observability/create-metrics.js';
import { assessPatient } from './pipeline/assess-patient.js';
import { loadServedModels } from './pipeline/load-served-models.js';
import type { AssessPatientDeps } from './pipeline/assess-patient.js';
import { createPipelineStages } from './pipeline/pipeline-stages.js';
import type { ServedModel } from './pipeline/served-model.js';
import { openDatabase } from './store/database.js';
import { inboxCounts } from './store/inbox-repository.js';
import { runMigrations } from './store/migrate.js';
import { createProfileValidator } from './writeback/validate-profiles.js';
import { createInferenceMetrics } from './inference/inference-metrics.js';
import type { FetchLike } from './fhir/outbound-fetch.js';

/** Repository root (migrations and models are resolved from here unless configured). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/** Options of the root plugin. */
export interface AppOptions {
  config: Config;
  /** `intake` takes notifications only, `worker` runs jobs only, `all` does both (the default). */
  role?: 'intake' | 'worker' | 'all';
  /** Replaces global fetch for outbound calls (tests). */
  fetch?: FetchLike;
}

/**
 * The root fastify plugin: infrastructure first (database, migrations, queue), then the domain
 * (models, inference engine, EHR client, pipeline workers), then routes. Everything it opens is
 * closed by one `onClose` hook in reverse order, so `app.close()` is a graceful shutdown: stop
 * taking jobs, finish or release in-flight ones, drain inference batches, close the pool.
 */
async function app(fastify: FastifyInstance, options: AppOptions): Promise<void> {
  const { config } = options;
  const role = options.role ?? 'all';
  const logger = fastify.log as unknown as import('pino').Logger;
  const metrics = createMetrics();
  const intakeAlerts = createIntakeAlerts(metrics.registry, logger);
  installErrorHandlers(fastify);
  await fastify.register(securityPlugin, securityOptions(config));
  // OpenTelemetry (off by default): request spans, client spans with traceparent on EHR calls.
  const tracing = config.TRACING_ENABLED ? startTracing({ exporter: createLogSpanExporter(logger) }) : undefined;
  if (tracing) await fastify.register(tracingPlugin, { tracer: tracing.tracer });
  const closers: Array<() => Promise<void>> = [];
  // Shutdown: first stop taking jobs and let in-flight ones finish (they still need the engine,
  // the EHR client and the pool), then close everything else in reverse order of opening.
  const shutdown: { stopTakingWork?: () => Promise<void> } = {};
  fastify.addHook('onClose', async () => {
    await shutdown.stopTakingWork?.().catch((err: unknown) =>
      logger.error({ err: { message: (err as Error).message } }, 'stopping the job queue failed'),
    );
    for (const close of closers.reverse()) {
      await close().catch((err: unknown) => logger.error({ err: { message: (err as Error).message } }, 'shutdown step failed'));
    }
  });

  // Infrastructure.
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    embeddedPort: config.EMBEDDED_POSTGRES_PORT,
    logger,
  });
  closers.push(() => database.close());
  await runMigrations(database.pool, join(REPO_ROOT, 'migrations'), logger);
  const queue = createAssessmentQueue({
    databaseUrl: database.url,
    logger,
    retryLimit: config.JOB_RETRY_LIMIT,
    retryDelaySeconds: config.JOB_RETRY_DELAY_S,
    coalesceWindowMs: config.COALESCE_WINDOW_MS,
    expireInSeconds: config.JOB_EXPIRE_S,
    maintenanceIntervalSeconds: config.JOB_MAINTENANCE_INTERVAL_S,
  });
  await queue.start();
  shutdown.stopTakingWork = () => queue.stop(30_000);

  // Domain.
  const ehrAuth = await createEhrAuth(config, options.fetch);
  // Every call to the EHR and the PACS is recorded in ehr_audit (who, what, when, why).
  const audited = createAuditedFetch({ db: database.pool, agent: config.SMART_CLIENT_ID ?? 'fhir-fusion', fetch: tracing ? createTracedFetch(tracing.tracer, options.fetch) : options.fetch });
  if (tracing) closers.push(() => tracing.shutdown());
  closers.push(startAuditRetention({ db: database.pool, retentionDays: config.AUDIT_RETENTION_DAYS, logger }));
  const outbound = createEhrFetch(config, audited, ehrAuth?.request);
  const ehr = createEhrClient({ fhirBaseUrl: config.FHIR_BASE_URL, fetch: outbound.fetch });
  const writebackEhr = config.WRITEBACK_FHIR_BASE_URL
    ? createEhrClient({ fhirBaseUrl: config.WRITEBACK_FHIR_BASE_URL, fetch: outbound.fetch })
    : ehr;
  let served: ServedModel[] = [];
  let pipeline: AssessPatientDeps | undefined;
  const similarCases = await openSimilarCases(config, database.pool, REPO_ROOT, logger);
  if (similarCases) closers.push(() => similarCases.close());
  const inferenceMetrics = createInferenceMetrics(metrics.registry);
  if (role !== 'intake') {
    const serving = await loadServedModels({ config, repoRoot: REPO_ROOT, logger, metrics: inferenceMetrics });
    const { engine } = serving;
    closers.push(() => engine.close());
    served = serving.models;
    for (const m of serving.registry.list()) {
      // With a remote backend the batches run there, whatever the local verification ran on.
      metrics.executionProvider.set({ model: m.key, provider: config.INFERENCE_BACKEND === 'kserve-v2' ? 'kserve-v2' : m.executionProvider }, 1);
    }
    const stages = createPipelineStages({ config, ehr, writebackEhr, engine, outbound, metrics, models: () => served, validator: createProfileValidator(), logger });
    pipeline = {
      pool: database.pool,
      logger,
      metrics,
      models: () => served,
      assemble: stages.assemble,
      predict: stages.predict,
      write: stages.write,
      ...(similarCases ? { afterScoring: indexSimilarCase(similarCases, metrics, logger) } : {}),
    };
    const deps = pipeline;
    await queue.work(config.JOB_CONCURRENCY, async (job) => {
      await assessPatient(job, deps);
    });
    closers.push(await startIntakeWorkers({ pool: database.pool, queue, ehr, logger, metrics, alerts: intakeAlerts, checkIntervalMs: config.SUBSCRIPTION_CHECK_INTERVAL_MS }));
  }

  // Routes.
  await fastify.register(healthRoutes, {
    registry: metrics.registry,
    metricsEnabled: config.METRICS_ENABLED,
    beforeScrape: async () => {
      const counts = await inboxCounts(database.pool);
      metrics.inboxDepth.set((counts.received ?? 0) + (counts.queued ?? 0));
    },
    checks: {
      database: async () => {
        await database.pool.query('SELECT 1');
        return database.embedded ? 'embedded postgres' : 'postgres';
      },
      models: async () => {
        if (role === 'intake') return 'not loaded (intake role)';
        if (served.length === 0) throw new Error('no model loaded');
        return served.map((m) => `${m.manifest.name}@${m.manifest.version}`).join(', ');
      },
      ehr: async () => {
        const response = await outbound.fetch(`${config.FHIR_BASE_URL.replace(/\/$/, '')}/metadata`, {
          headers: { accept: 'application/fhir+json' },
        });
        await response.body?.cancel();
        if (!response.ok) throw new Error(`EHR /metadata answered ${response.status}`);
        return 'reachable';
      },
    },
  });
  await fastify.register(intakeRoutes, {
    pool: database.pool,
    queue,
    logger,
    metrics,
    maxBodyBytes: config.INTAKE_MAX_BODY_BYTES,
    alerts: intakeAlerts,
  });
  await fastify.register(assessmentsPage, {
    pool: database.pool,
    writebackBaseUrl: config.WRITEBACK_FHIR_BASE_URL ?? config.FHIR_BASE_URL,
  });
  await fastify.register(jwksRoute, { keys: ehrAuth?.keys });
  await fastify.register(cdsHooksPlugin, { prefix: '/cds-services', config, pool: database.pool, metrics, models: () => served, ownFetch: outbound.fetch, fetch: options.fetch });
  if (similarCases) {
    await fastify.register(similarCasesPlugin, { similarCases, fhirBaseUrl: config.FHIR_BASE_URL, ...(options.fetch ? { fetch: options.fetch } : {}) });
  }
  await fastify.register(reviewAppPlugin, {
    config,
    pool: database.pool,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    thumbnails: reviewThumbnails(config, outbound),
    ...(similarCases ? { findSimilar: reviewSimilarCases(similarCases) } : {}),
  });
  fastify.decorate('fusion', { pool: database.pool, ehr, metrics, pipeline });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Handles the CLI and tests use after start-up. */
    fusion: {
      pool: import('pg').Pool;
      ehr: import('@medplum/core').MedplumClient;
      metrics: import('./observability/create-metrics.js').Metrics;
      /** The per-patient job's stages (undefined in the intake role). */
      pipeline: AssessPatientDeps | undefined;
    };
  }
}

/** The root plugin, named so shared decorations (`fusion`) are visible to the caller. */
export default fp(app, { name: 'fhir-fusion', fastify: '5.x' });
