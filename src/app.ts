import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import type { Config } from './config/config-schema.js';
import { jwksRoute } from './fhir/ehr-auth.js';
import type { FetchLike } from './contracts/fetch-like.js';
import type { ModelMonitorHandle } from './contracts/model-monitoring.js';
import { assessmentsPage } from './http/assessments-page.js';
import { installErrorHandlers } from './http/error-handler.js';
import { healthRoutes } from './http/health-routes.js';
import { createIntakeAlerts } from './intake/intake-alerts.js';
import type { IntakeAlerts } from './intake/intake-alerts.js';
import { intakeRoutes } from './intake/intake-routes.js';
import { startHl7v2Intake } from './intake/hl7v2/start-hl7v2-intake.js';
import type { MllpListener } from './intake/hl7v2/mllp-listener.js';
import { startDimseIntake } from './intake/dimse/start-dimse-intake.js';
import type { DimseListener } from './intake/dimse/start-dimse-intake.js';
import { startIntakeWorkers } from './subscriptions/intake-workers.js';
import { createAssessmentQueue } from './jobs/assessment-queue.js';
import type { AssessmentQueue } from './jobs/assessment-queue.js';
import { tracingPlugin } from './observability/tracing.js';
import { assessPatient } from './pipeline/assess-patient.js';
import { cdsHooksPlugin } from './review/cds-hooks/cds-hooks-plugin.js';
import { reviewThumbnails } from './review/smart-app/image-thumbnail.js';
import { reviewAppPlugin } from './review/smart-app/review-app-plugin.js';
import { openRuntime } from './runtime/open-runtime.js';
import type { Runtime } from './runtime/open-runtime.js';
import type { DrafterFactory } from './pipeline/draft-description.js';
import { createIntrospectionVerifier } from './security/caller-token.js';
import { securityOptions, securityPlugin } from './security/security-plugin.js';
import { reviewSimilarCases } from './similar-cases/open-similar-cases.js';
import { similarCasesPlugin } from './similar-cases/similar-cases-plugin.js';
import { inboxCounts } from './store/inbox-repository.js';
import { pingDatabase } from './store/database.js';
import { withoutTrailingSlash } from './contracts/base-url.js';

export { REPO_ROOT } from './runtime/open-runtime.js';

/** Options of the root plugin. */
export interface AppOptions {
  config: Config;
  /** `intake` takes notifications only, `worker` runs jobs only, `all` does both (the default). */
  role?: 'intake' | 'worker' | 'all';
  /** Replaces global fetch for outbound calls (tests). */
  fetch?: FetchLike;
  /**
   * Starts the model monitor over the runtime (issue 19 point 5). Passed in by `main.ts` because
   * the monitor reuses local validation's labeller and statistics, which sit above the app.
   */
  monitor?: (runtime: Runtime) => ModelMonitorHandle | undefined;
  /** Builds the drafting model `DESCRIPTION_MODEL` names (issue #20); passed in by `main.ts`. */
  openDrafter?: DrafterFactory;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Everything opened once per process (`fhir-fusion-runtime`); closed by `app.close()`. */
    runtime: Runtime;
    /** The job queue (`fhir-fusion-queue`). */
    queue: AssessmentQueue;
    /** Intake alert counters shared by the intake routes and the intake workers. */
    intakeAlerts: IntakeAlerts;
    /** The HL7 v2 MLLP listener (`HL7_MLLP_PORT`), when one is open. */
    hl7v2: MllpListener | undefined;
    /** The DICOM C-STORE/C-ECHO SCP (`DICOM_PORT`), when one is open. */
    dimse: DimseListener | undefined;
    /** The model monitor, when monitoring is on and models are loaded. */
    monitor: ModelMonitorHandle | undefined;
  }
}

/**
 * Opens the {@link Runtime} (database, migrations, R4 index, models, engine, audited fetch, EHR
 * clients, validator, similar cases) and closes it, in reverse order, when fastify closes. The
 * plugins registered after it add their own closers to the runtime's stack (`runtime.defer`), so
 * there is one shutdown order for everything.
 */
export const runtimePlugin = fp(
  async (fastify: FastifyInstance, options: AppOptions) => {
    const role = options.role ?? 'all';
    const runtime = await openRuntime({
      config: options.config,
      logger: fastify.log as unknown as Logger,
      loadModels: role !== 'intake',
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.openDrafter ? { openDrafter: options.openDrafter } : {}),
    });
    fastify.decorate('runtime', runtime);
    fastify.addHook('onClose', () => runtime.close());
  },
  { name: 'fhir-fusion-runtime', fastify: '5.x' },
);

/**
 * The job queue on the runtime's database and, unless the role is `intake`, the per-patient
 * workers and the intake workers. Closing stops taking jobs first and lets in-flight ones finish
 * (they still need the engine, the EHR client and the pool, which close after).
 */
export const queuePlugin = fp(
  async (fastify: FastifyInstance, options: { role?: AppOptions['role'] }) => {
    const { runtime } = fastify;
    const { config, logger, metrics } = runtime;
    const alerts = createIntakeAlerts(metrics.registry, logger);
    const queue = createAssessmentQueue({
      databaseUrl: runtime.database.url,
      logger,
      retryLimit: config.JOB_RETRY_LIMIT,
      retryDelaySeconds: config.JOB_RETRY_DELAY_S,
      coalesceWindowMs: config.COALESCE_WINDOW_MS,
      expireInSeconds: config.JOB_EXPIRE_S,
      maintenanceIntervalSeconds: config.JOB_MAINTENANCE_INTERVAL_S,
    });
    await queue.start();
    const stopTakingWork = (): Promise<void> => queue.stop(30_000);
    const pipeline = runtime.serving?.pipeline;
    if ((options.role ?? 'all') !== 'intake' && pipeline) {
      try {
        await queue.work(config.JOB_CONCURRENCY, async (job) => {
          await assessPatient(job, pipeline);
        });
        runtime.defer(
          await startIntakeWorkers({
            pool: runtime.pool,
            queue,
            ehr: runtime.ehr,
            logger,
            metrics,
            alerts,
            checkIntervalMs: config.SUBSCRIPTION_CHECK_INTERVAL_MS,
            gapWindow: config.SUBSCRIPTION_EVENT_GAP_WINDOW,
          }),
        );
      } catch (err) {
        await stopTakingWork().catch(() => undefined);
        throw err;
      }
    }
    // Last on the stack, so first to run on close.
    runtime.defer(stopTakingWork);
    fastify.decorate('queue', queue);
    fastify.decorate('intakeAlerts', alerts);
  },
  { name: 'fhir-fusion-queue', fastify: '5.x', dependencies: ['fhir-fusion-runtime'] },
);

/**
 * The model monitor (outcome tracking, input drift, alerts), unless the role is `intake` (no
 * models loaded) or monitoring is off. Closed before the pool it reads.
 */
export const monitorPlugin = fp(
  async (fastify: FastifyInstance, options: Pick<AppOptions, 'role' | 'monitor'>) => {
    const { runtime } = fastify;
    const monitor = (options.role ?? 'all') === 'intake' ? undefined : options.monitor?.(runtime);
    if (monitor) runtime.defer(() => monitor.close());
    fastify.decorate('monitor', monitor);
  },
  { name: 'fhir-fusion-monitor', fastify: '5.x', dependencies: ['fhir-fusion-runtime'] },
);

/** Every route, each with its schema, over the runtime and the queue. */
export const routesPlugin = fp(
  async (fastify: FastifyInstance, options: { role?: AppOptions['role'] }) => {
    const { runtime, queue } = fastify;
    const { config, logger, metrics, pool, outbound } = runtime;
    const role = options.role ?? 'all';
    const baseFetch = runtime.baseFetch;
    await fastify.register(healthRoutes, {
      registry: metrics.registry,
      metricsEnabled: config.METRICS_ENABLED,
      beforeScrape: async () => {
        const counts = await inboxCounts(pool);
        metrics.inboxDepth.set((counts.received ?? 0) + (counts.queued ?? 0));
      },
      checks: {
        database: async () => {
          await pingDatabase(pool);
          return runtime.database.embedded ? 'embedded postgres' : 'postgres';
        },
        models: async () => {
          if (role === 'intake') return 'not loaded (intake role)';
          const served = runtime.models();
          if (served.length === 0) throw new Error('no model loaded');
          return served.map((m) => `${m.manifest.name}@${m.manifest.version}`).join(', ');
        },
        ehr: async () => {
          const response = await outbound.fetch(`${withoutTrailingSlash(config.FHIR_BASE_URL)}/metadata`, {
            headers: { accept: 'application/fhir+json' },
          });
          await response.body?.cancel();
          if (!response.ok) throw new Error(`EHR /metadata answered ${response.status}`);
          return 'reachable';
        },
      },
    });
    await fastify.register(intakeRoutes, {
      pool,
      queue,
      logger,
      metrics,
      maxBodyBytes: config.INTAKE_MAX_BODY_BYTES,
      alerts: fastify.intakeAlerts,
      gapWindow: config.SUBSCRIPTION_EVENT_GAP_WINDOW,
      replayWindowSeconds: config.INTAKE_REPLAY_WINDOW_S,
    });
    // The HL7 v2 door (docs/hl7v2-intake.md): intake, so not in the worker role. Closed first on
    // shutdown (last on the stack): messages being handled finish before the queue and pool close.
    const hl7v2 =
      role === 'worker'
        ? undefined
        : await startHl7v2Intake(config, { pool, queue, ehr: runtime.ehr, logger, metrics });
    if (hl7v2) runtime.defer(() => hl7v2.close());
    fastify.decorate('hl7v2', hl7v2);
    // The DICOM DIMSE door (docs/dicom-dimse-intake.md): intake as well, closed before the queue and pool.
    const dimse =
      role === 'worker'
        ? undefined
        : await startDimseIntake(config, {
            pool,
            queue,
            ehr: runtime.ehr,
            logger,
            metrics,
            dicomFetch: outbound.dicomFetch,
          });
    if (dimse) runtime.defer(() => dimse.close());
    fastify.decorate('dimse', dimse);
    await fastify.register(assessmentsPage, {
      pool,
      ...(fastify.monitor ? { monitoring: fastify.monitor.latest } : {}),
      writebackBaseUrl: config.WRITEBACK_FHIR_BASE_URL ?? config.FHIR_BASE_URL,
    });
    await fastify.register(jwksRoute, { keys: runtime.ehrAuth?.keys });
    await fastify.register(cdsHooksPlugin, {
      prefix: '/cds-services',
      config,
      pool,
      metrics,
      models: () => runtime.models(),
      ownFetch: outbound.fetch,
      fetch: baseFetch,
    });
    const { similarCases } = runtime;
    if (similarCases) {
      await fastify.register(similarCasesPlugin, {
        similarCases,
        fhirBaseUrl: config.FHIR_BASE_URL,
        // RFC 7662 introspection at the EHR, with fhir-fusion's own EHR credentials (issue 18.3).
        verifyToken: createIntrospectionVerifier({ fhirBaseUrl: config.FHIR_BASE_URL, fetch: outbound.fetch }),
        ...(baseFetch ? { fetch: baseFetch } : {}),
      });
    }
    await fastify.register(reviewAppPlugin, {
      config,
      pool,
      ...(baseFetch ? { fetch: baseFetch } : {}),
      thumbnails: reviewThumbnails(config, outbound),
      ...(similarCases ? { findSimilar: reviewSimilarCases(similarCases) } : {}),
      // The clinician's accepted or rejected draft is checked against the profiles before it is sent.
      validator: runtime.validator,
    });
  },
  {
    name: 'fhir-fusion-routes',
    fastify: '5.x',
    dependencies: ['fhir-fusion-runtime', 'fhir-fusion-queue', 'fhir-fusion-monitor'],
  },
);

/**
 * The root fastify plugin (fastify/demo's shape): error handlers and security headers, then the
 * named plugins — the runtime, the queue and workers over it, request tracing when enabled, and
 * the routes — each declaring what it depends on. `app.close()` is the graceful shutdown: stop
 * taking jobs, finish or release in-flight ones, drain inference batches, close the pool.
 */
async function app(fastify: FastifyInstance, options: AppOptions): Promise<void> {
  installErrorHandlers(fastify);
  await fastify.register(securityPlugin, securityOptions(options.config));
  await fastify.register(runtimePlugin, options);
  // OpenTelemetry (off by default): request spans; outbound client spans are the runtime's.
  const { tracing } = fastify.runtime;
  if (tracing) await fastify.register(tracingPlugin, { tracer: tracing.tracer });
  await fastify.register(queuePlugin, { role: options.role });
  await fastify.register(monitorPlugin, { role: options.role, monitor: options.monitor });
  await fastify.register(routesPlugin, { role: options.role });
}

/** The root plugin, named so its decorations (`runtime`, `queue`) are visible to the caller. */
export default fp(app, { name: 'fhir-fusion', fastify: '5.x' });
