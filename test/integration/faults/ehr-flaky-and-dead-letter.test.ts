import type { Observation, Patient } from '@medplum/fhirtypes';
import { createHmac } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

const SECRET = 'flaky-secret';

/** A proxy in front of the EHR that misbehaves on purpose: `mode` decides each request's fate. */
function startFlakyProxy(target: URL, mode: () => 'forward' | '503' | 'hang'): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const fate = mode();
    if (fate === '503') {
      res.writeHead(503, { 'content-type': 'application/fhir+json', 'retry-after': '1' });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: 'maintenance' }] }));
      return;
    }
    if (fate === 'hang') return; // never answers: the client's timeout must fire
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, base: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/fhir` });
    }),
  );
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

describe('EHR answering 503 and timing out, then recovering; and a job that keeps failing', () => {
  const dbs: TestDatabase[] = [];
  const servers: RunningServer[] = [];
  let ehr: SandboxEhr;
  let ehrBase: string;
  let proxy: Server;
  let fate: 'forward' | '503' | 'hang' = '503';
  let patientId: string;
  let observation: Observation;

  beforeAll(async () => {
    ehr = await createSandboxEhr({ logger: false });
    ehrBase = await ehr.listen(0, '127.0.0.1');
    const client = createEhrClient({ fhirBaseUrl: ehrBase, fetch });
    const patient = await client.createResource<Patient>({ resourceType: 'Patient', gender: 'male', birthDate: '1955-03-03' });
    patientId = patient.id ?? '';
    observation = await client.createResource<Observation>({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: new Date().toISOString(),
      valueQuantity: { value: 140, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    const started = await startFlakyProxy(new URL(ehrBase), () => fate);
    proxy = started.server;
    ehrBase = started.base;
  });

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await ehr?.close();
    await new Promise((r) => proxy?.close(r));
    for (const db of dbs) await db.drop();
  });

  async function start(retryLimit: string): Promise<RunningServer> {
    const db = await createTestDatabase();
    dbs.push(db);
    const server = await startServer(
      testConfig({ DATABASE_URL: db.url, FHIR_BASE_URL: ehrBase, ACTIVE_MODELS: 'tabular-risk@1', JOB_RETRY_LIMIT: retryLimit, OUTBOUND_TIMEOUT_MS: '1500' }),
    );
    servers.push(server);
    const sql = upsertSubscriptionSql({ key: 'observation', kind: 'rest-hook-criteria', criteria: 'Observation', secret: SECRET, status: 'active' });
    await server.runtime.pool.query(sql.text, sql.values);
    const body = JSON.stringify(observation);
    const response = await fetch(`${server.url}/intake/observation`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', 'x-signature': createHmac('sha256', SECRET).update(body).digest('hex') },
      body,
    });
    expect(response.status).toBe(200);
    return server;
  }

  it('retries through 503s and timeouts with backoff, then writes the assessment', async () => {
    fate = '503';
    const server = await start('10');
    const pool = server.runtime.pool;
    const retried = await until(async () => {
      const { rows } = await pool.query<{ retry_count: number }>("SELECT retry_count FROM pgboss.job WHERE name = 'assess-patient' AND retry_count >= 1");
      return rows[0];
    }, 30_000);
    expect(retried).toBeDefined();
    fate = 'hang';
    const retriedAgain = await until(async () => {
      const { rows } = await pool.query<{ retry_count: number }>("SELECT retry_count FROM pgboss.job WHERE name = 'assess-patient' AND retry_count >= 2");
      return rows[0];
    }, 30_000);
    expect(retriedAgain).toBeDefined();
    fate = 'forward';
    const status = await until(async () => {
      const { rows } = await pool.query<{ status: string }>("SELECT status FROM notification_inbox WHERE status <> 'queued'");
      return rows[0]?.status;
    }, 90_000);
    expect(status).toBe('processed');
    const dead = await pool.query('SELECT count(*)::int AS n FROM dead_letters');
    expect(dead.rows[0]?.n).toBe(0);
  });

  it('dead-letters a job that keeps failing, with its reason, and marks the notification failed', async () => {
    fate = '503';
    const server = await start('1');
    const pool = server.runtime.pool;
    const letter = await until(async () => {
      const { rows } = await pool.query<{ reason: { resourceType: string; issue: Array<{ code: string; diagnostics: string }> } }>('SELECT reason FROM dead_letters');
      return rows[0];
    }, 60_000);
    expect(letter?.reason.resourceType).toBe('OperationOutcome');
    expect(letter?.reason.issue[0]?.code).toBe('transient');
    expect(letter?.reason.issue[0]?.diagnostics).toMatch(/gave up after 2 attempts/);
    const { rows } = await pool.query<{ status: string }>('SELECT status FROM notification_inbox');
    expect(rows.map((r) => r.status)).toEqual(['failed']);
    fate = 'forward';
  });
});
