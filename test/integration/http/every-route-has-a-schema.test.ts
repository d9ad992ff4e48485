import Fastify from 'fastify';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import app from '../../../src/app.js';
import { operationOutcomeServerOptions } from '../../../src/http/error-handler.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

/** One route as fastify's `onRoute` hook saw it. */
interface SeenRoute {
  method: string;
  url: string;
  schema: RouteOptions['schema'];
}

const label = (route: SeenRoute): string => `${route.method} ${route.url}`;

/**
 * Issue 22 ("every route has a schema"): boots the composition root (`app.ts`, every plugin it
 * registers), records each route with fastify's `onRoute` hook and checks, per fastify's
 * Validation-and-Serialization guide, that each declares its responses, and its params,
 * querystring and body where it takes them. The one exemption is @fastify/cors' preflight
 * (`OPTIONS`, hidden from the OpenAPI document, empty 204), which is the plugin's own route.
 */
describe('every route has a schema', () => {
  let db: TestDatabase;
  let server: FastifyInstance;
  const routes: SeenRoute[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    server = Fastify({ logger: false, ...operationOutcomeServerOptions() });
    server.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url, schema: route.schema });
    });
    const config = testConfig({
      DATABASE_URL: db.url,
      // Nothing is fetched while routes are registered; an unused loopback port is enough.
      FHIR_BASE_URL: 'http://127.0.0.1:9/fhir/R4',
      METRICS_ENABLED: 'true',
    });
    // `intake` loads no fusion model; every route is registered in every role.
    await server.register(app, { config, role: 'intake' });
    await server.ready();
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  }, 60_000);

  const served = (): SeenRoute[] => routes.filter((r) => r.method !== 'HEAD' && !(r.method === 'OPTIONS' && (r.schema as { hide?: boolean } | undefined)?.hide));

  it('registers the routes this test knows of (a new route is checked too)', () => {
    const names = served().map(label);
    for (const expected of [
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /',
      'GET /api/assessments',
      'POST /intake/:key',
      'PUT /intake/:key/:type/:id',
      'GET /.well-known/jwks.json',
      'GET /cds-services',
      'GET /cds-services/model-cards/:name/:version',
      'POST /cds-services/:id',
      'POST /cds-services/:id/feedback',
      'GET /fhir-fusion/Patient/:id/$similar-cases',
      'GET /fhir-fusion/$similar-ecgs',
      'GET /review/launch',
      'GET /review/callback',
      'GET /review',
      'POST /review/feedback',
      'GET /review/images/:id/thumbnail.png',
      'GET /review/assets/:file',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it('every route declares its responses', () => {
    const missing = served().filter((r) => !r.schema?.response).map(label);
    expect(missing).toEqual([]);
  });

  it('every route with path parameters declares them', () => {
    const missing = served().filter((r) => r.url.includes(':') && !r.schema?.params).map(label);
    expect(missing).toEqual([]);
  });

  it('every route that reads a querystring declares it', () => {
    // The routes whose handlers read `request.query` (grep `request.query` / `stringQuery` in src/).
    const readingQuery = [
      'GET /api/assessments',
      'GET /fhir-fusion/Patient/:id/$similar-cases',
      'GET /fhir-fusion/$similar-ecgs',
      'GET /review/launch',
      'GET /review/callback',
      'GET /review',
    ];
    const missing = served().filter((r) => readingQuery.includes(label(r)) && !r.schema?.querystring).map(label);
    expect(missing).toEqual([]);
  });

  it('every route that takes a body declares it', () => {
    const missing = served().filter((r) => (r.method === 'POST' || r.method === 'PUT') && !r.schema?.body).map(label);
    expect(missing).toEqual([]);
  });

  it('a schema validation failure is a 400 OperationOutcome naming the element', async () => {
    for (const [method, url, expression] of [
      ['GET', '/api/assessments?limit=9999', 'limit'],
      ['PUT', '/intake/key-1/not-a-type/1', 'type'],
      ['GET', '/fhir-fusion/$similar-ecgs?text=a&text=b', 'text'],
    ] as const) {
      const response = await server.inject({ method, url });
      expect({ url, status: response.statusCode, type: response.headers['content-type'] }).toEqual({
        url,
        status: 400,
        type: 'application/fhir+json; charset=utf-8',
      });
      const body = response.json<{ resourceType: string; issue: Array<{ code: string; expression?: string[]; diagnostics?: string }> }>();
      expect(body.resourceType).toBe('OperationOutcome');
      expect(body.issue[0]).toMatchObject({ code: 'invalid', expression: [expression] });
      expect(body.issue[0]?.diagnostics).toContain(expression);
    }
  });

  it('the review app answers a validation failure with its HTML error page (400), naming the element', async () => {
    const response = await server.inject({ method: 'GET', url: '/review?saved=1&saved=2' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('querystring saved must be string');
  });

  it('the OpenAPI document describes every route that is not hidden', async () => {
    const response = await server.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<{ paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> }>();
    // @fastify/swagger writes a prefix's root route (`/cds-services` + `/`) with its trailing slash.
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        name: `${method.toUpperCase()} ${path.length > 1 ? path.replace(/\/$/, '') : path}`,
        responses: Object.keys(operation.responses ?? {}),
      })),
    );
    // OpenAPI writes path parameters as {name}.
    const expected = served()
      .filter((r) => !(r.schema as { hide?: boolean } | undefined)?.hide)
      .map((r) => `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
    expect(documented.map((d) => d.name).sort()).toEqual([...new Set(expected)].sort());
    expect(documented.filter((d) => d.responses.length === 0)).toEqual([]);
  });
});
