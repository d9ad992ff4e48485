import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyCall, patientOf } from '../../../src/security/audit-trail.js';
import { isLoopbackAddress } from '../../../src/security/operator-access.js';
import { securityPlugin } from '../../../src/security/security-plugin.js';

async function build(options: { operatorToken?: string; rateLimitMax?: number }): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(securityPlugin, {
    rateLimitMax: options.rateLimitMax ?? 100,
    rateLimitWindowMs: 60_000,
    operatorToken: options.operatorToken,
    frameAncestors: ['https://ehr.example.org/fhir'],
  });
  app.get('/', async () => 'operator page');
  app.get('/api/assessments', { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer' } } } } }, async () => []);
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.ready();
  return app;
}

describe('HTTP hardening: operator access, helmet, rate limit, OpenAPI', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('with OPERATOR_TOKEN set, the operator page needs the bearer token (401 + WWW-Authenticate otherwise)', async () => {
    app = await build({ operatorToken: 'op-secret-token' });
    for (const url of ['/', '/api/assessments', '/api/assessments?limit=5']) {
      const refused = await app.inject({ url });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['www-authenticate']).toMatch(/^Bearer /);
      expect(refused.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
      expect((await app.inject({ url, headers: { authorization: 'Bearer wrong-token-xx' } })).statusCode).toBe(401);
      expect((await app.inject({ url, headers: { authorization: 'Bearer op-secret-token' } })).statusCode).toBe(200);
    }
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('without OPERATOR_TOKEN, only loopback peers get the operator page; X-Forwarded-For cannot fake one', async () => {
    app = await build({});
    expect((await app.inject({ url: '/', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    const remote = await app.inject({ url: '/api/assessments', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': '127.0.0.1' } });
    expect(remote.statusCode).toBe(403);
    expect(remote.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.9')).toBe(true);
    expect(isLoopbackAddress('128.0.0.1')).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });

  it('sends helmet headers, with frame-ancestors limited to this server and the configured EHR', async () => {
    app = await build({});
    const response = await app.inject({ url: '/healthz' });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'self' https://ehr.example.org");
    expect(response.headers['x-frame-options']).toBeUndefined();
  });

  it('limits each client and answers 429 with Retry-After; probes are exempt', async () => {
    app = await build({ rateLimitMax: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await app.inject({ url: '/', remoteAddress: '127.0.0.1' })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await app.inject({ url: '/', remoteAddress: '127.0.0.1' });
    expect(limited.headers['retry-after']).toBeDefined();
    for (let i = 0; i < 5; i++) expect((await app.inject({ url: '/healthz', remoteAddress: '127.0.0.1' })).statusCode).toBe(200);
    // Another client has its own budget.
    expect((await app.inject({ url: '/', remoteAddress: '::1' })).statusCode).toBe(200);
  });

  it('serves an OpenAPI 3 document listing the routes and their security schemes', async () => {
    app = await build({});
    const doc = (await app.inject({ url: '/openapi.json' })).json() as { openapi: string; paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown> } };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/', '/api/assessments', '/healthz']));
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['operatorBearer', 'subscriptionSignature']);
  });
});

describe('audit classification (FHIR R4 AuditEvent action, HL7 PurposeOfUse)', () => {
  it('classifies reads, searches, transactions and plumbing, and finds the patient', () => {
    const base = 'http://ehr.example.org/fhir';
    expect(classifyCall('GET', new URL(`${base}/Patient/p1`))).toEqual({ action: 'R', purpose: 'TREAT', reason: 'assemble patient record for risk assessment' });
    expect(classifyCall('GET', new URL(`${base}/Observation?subject=Patient/p1`)).action).toBe('E');
    expect(classifyCall('POST', new URL(`${base}/`))).toEqual({ action: 'E', purpose: 'TREAT', reason: 'write back risk assessment' });
    expect(classifyCall('POST', new URL(`${base}/RiskAssessment`)).action).toBe('C');
    expect(classifyCall('PUT', new URL(`${base}/Subscription/s1`)).purpose).toBe('HOPERAT');
    expect(classifyCall('GET', new URL(`${base}/metadata`)).reason).toBe('EHR capability check');
    expect(classifyCall('GET', new URL('http://pacs/dicomweb/studies/1/series/2/instances/3')).reason).toBe('retrieve imaging for risk assessment');
    expect(patientOf(new URL(`${base}/Patient/p-1.2`))).toBe('Patient/p-1.2');
    expect(patientOf(new URL(`${base}/Observation?subject=Patient%2Fabc`))).toBe('Patient/abc');
    expect(patientOf(new URL(`${base}/DiagnosticReport?patient=xyz`))).toBe('Patient/xyz');
    expect(patientOf(new URL(`${base}/Observation?_id=o1`))).toBeUndefined();
    expect(patientOf(new URL(`${base}/metadata`))).toBeUndefined();
  });
});
