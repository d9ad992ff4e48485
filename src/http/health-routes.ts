import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { textResponse } from './route-schemas.js';

/** A dependency `/readyz` checks; resolves with a short status or throws. */
export type ReadinessCheck = () => Promise<string>;

/** Options of the health routes. */
export interface HealthRouteOptions {
  checks: Record<string, ReadinessCheck>;
  registry: Registry;
  metricsEnabled: boolean;
  /** Refreshes gauges that are read from the database (inbox depth) just before a scrape. */
  beforeScrape?: () => Promise<void>;
}

const checkSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    checks: { type: 'object', additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } } },
  },
} as const;

/**
 * `/healthz`: the process is up (liveness; never touches dependencies, so a slow database cannot
 * get the pod killed). `/readyz`: database reachable, models loaded and warmed up, EHR reachable
 * (readiness). `/metrics`: Prometheus text exposition format.
 */
export async function healthRoutes(app: FastifyInstance, options: HealthRouteOptions): Promise<void> {
  app.get('/healthz', { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({
    status: 'ok',
  }));

  app.get('/readyz', { schema: { response: { 200: checkSchema, 503: checkSchema } } }, async (_request, reply) => {
    const results: Record<string, { ok: boolean; detail: string }> = {};
    await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        try {
          results[name] = { ok: true, detail: await check() };
        } catch (err) {
          results[name] = { ok: false, detail: (err as Error).message.slice(0, 200) };
        }
      }),
    );
    const ready = Object.values(results).every((r) => r.ok);
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks: results });
  });

  if (options.metricsEnabled) {
    // Prometheus text exposition format 0.0.4 (or OpenMetrics, as the registry is set up).
    const metricsSchema = { response: { 200: textResponse('text/plain', 'Prometheus metrics in the text exposition format.') } };
    app.get('/metrics', { schema: metricsSchema }, async (_request, reply) => {
      await options.beforeScrape?.().catch(() => undefined);
      reply.type(options.registry.contentType);
      return options.registry.metrics();
    });
  }
}
