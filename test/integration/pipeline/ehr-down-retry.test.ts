import type { Observation, Patient } from '@medplum/fhirtypes';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { freePort } from '../../helpers/free-port.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

const SECRET = 'retry-test-secret';

describe('an EHR that is down', () => {
  let db: TestDatabase;
  let server: RunningServer;
  let ehr: SandboxEhr | undefined;
  let port: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    port = await freePort();
    server = await startServer(
      testConfig({ DATABASE_URL: db.url, FHIR_BASE_URL: `http://127.0.0.1:${port}/fhir`, JOB_RETRY_LIMIT: '10', OUTBOUND_TIMEOUT_MS: '2000' }),
    );
    const sql = upsertSubscriptionSql({ key: 'observation', kind: 'rest-hook-criteria', criteria: 'Observation', secret: SECRET, status: 'active' });
    await server.runtime.pool.query(sql.text, sql.values);
  });

  afterAll(async () => {
    await server?.stop();
    await ehr?.close();
    await db?.drop();
  });

  it('makes the job retry with backoff, then succeed once the EHR is back — nothing vanishes', async () => {
    // The EHR is not listening yet: connection refused on every fetch.
    const patient: Patient = { resourceType: 'Patient', id: 'p-retry', gender: 'male', birthDate: '1960-01-01' };
    const obs: Observation = {
      resourceType: 'Observation',
      id: 'o-retry',
      meta: { versionId: '1' },
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: 'Patient/p-retry' },
      effectiveDateTime: new Date().toISOString(),
      valueQuantity: { value: 130, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    };
    const body = JSON.stringify(obs);
    const response = await server.server.inject({
      method: 'POST',
      url: '/intake/observation',
      headers: { 'content-type': 'application/fhir+json', 'x-signature': createHmac('sha256', SECRET).update(body).digest('hex') },
      payload: body,
    });
    expect(response.statusCode).toBe(200);

    const pool = server.runtime.pool;
    const deadline = Date.now() + 30_000;
    let retried = false;
    while (Date.now() < deadline && !retried) {
      const { rows } = await pool.query<{ retry_count: number }>("SELECT retry_count FROM pgboss.job WHERE name = 'assess-patient'");
      retried = rows.some((r) => r.retry_count >= 1);
      if (!retried) await new Promise((r) => setTimeout(r, 250));
    }
    expect(retried).toBe(true);
    const { rows: pending } = await pool.query("SELECT status FROM notification_inbox WHERE resource_id = 'o-retry'");
    expect(pending[0]?.status).toBe('queued');

    // The EHR comes back, holding the patient and the observation.
    // It holds the patient and the observation before it answers: written over HTTP after it is
    // up, a retry landing between the two writes would see a patient with no data.
    ehr = await createSandboxEhr({ logger: false });
    await ehr.repo.updateResource(patient);
    await ehr.repo.updateResource({ ...obs, meta: undefined });
    await ehr.listen(port, '127.0.0.1');
    const client = createEhrClient({ fhirBaseUrl: `http://127.0.0.1:${port}/fhir`, fetch });

    const status = await (async () => {
      const until = Date.now() + 60_000;
      let last: string | undefined;
      while (Date.now() < until) {
        const { rows } = await pool.query<{ status: string }>("SELECT status FROM notification_inbox WHERE resource_id = 'o-retry'");
        last = rows[0]?.status;
        if (last !== 'queued') return last;
        await new Promise((r) => setTimeout(r, 300));
      }
      return last;
    })();
    expect(status).toBe('processed');
    const written = await client.searchResources('RiskAssessment', { subject: 'Patient/p-retry' });
    expect(written.length).toBeGreaterThan(0);
    const { rows: dead } = await pool.query('SELECT count(*)::int AS n FROM dead_letters');
    expect(dead[0]?.n).toBe(0);
  });
});
