import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Config } from './config/config-schema.js';
import app from './app.js';
import { operationOutcomeServerOptions } from './http/error-handler.js';
import type { AppOptions } from './app.js';
import type { Runtime } from './runtime/open-runtime.js';
import { createLogger } from './observability/create-logger.js';
import { modelMonitorOf } from './validation/model-monitor.js';
import { drafterFactory } from './runtime/reference-drafter-factory.js';

/** A started server and how to stop it. */
export interface RunningServer {
  server: FastifyInstance;
  url: string;
  /** What the server opened (database, EHR clients, models, pipeline): for the CLI and tests. */
  runtime: Runtime;
  stop(): Promise<void>;
}

/**
 * Starts fhir-fusion: builds fastify with the JSON logger, registers the root plugin, listens.
 * `stop()` (also on SIGTERM/SIGINT when `handleSignals`) closes the server: no new connections,
 * then the app's onClose drains jobs and inference and closes the database.
 */
export async function startServer(
  config: Config,
  options: Omit<AppOptions, 'config'> & { handleSignals?: boolean } = {},
): Promise<RunningServer> {
  const logger = createLogger({ level: config.LOG_LEVEL });
  const server = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.INTAKE_MAX_BODY_BYTES,
    requestIdHeader: 'x-request-id',
    forceCloseConnections: 'idle',
    // Start-up initialises embedded Postgres (initdb on first run) and loads and warms every model:
    // far longer than fastify's 10 s default plugin timeout on a small machine.
    pluginTimeout: 600_000,
    // Router and socket errors answer OperationOutcome like every other error (issue 18.4).
    ...operationOutcomeServerOptions(),
  });
  // The model monitor is passed in from here: it reuses local validation (src/validation/), which
  // sits above the app in the layers.
  // The drafting model's factory (issue #20) is passed in the same way: the runtime only calls it.
  await server.register(app, {
    config,
    role: options.role,
    fetch: options.fetch,
    monitor: options.monitor ?? modelMonitorOf,
    openDrafter: options.openDrafter ?? drafterFactory({ logger, executionProviders: config.EXECUTION_PROVIDERS }),
  });
  const url = await server.listen({ host: config.HOST, port: config.PORT });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= server.close());
  if (options.handleSignals) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        logger.info({ signal }, 'shutting down');
        void stop().then(() => process.exit(0));
      });
    }
  }
  return { server, url, runtime: server.runtime, stop };
}
