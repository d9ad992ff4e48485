import type { Observation, Patient } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { freePort } from '../../helpers/free-port.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import { pollUntil } from '../../helpers/fusion-fixture.js';

const SECRET = 'ehr-down-secret';

/** {@link pollUntil} with this file's bound on a hang. */
function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  return pollUntil(probe, what, { timeoutMs, intervalMs: 250 });
}

function idOnly(eventNumber: number, focus: string): string {
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'history',
    entry: [
      {
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'subscription', valueReference: { reference: 'Subscription/obs' } },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: 'event-notification' },
            { name: 'events-since-subscription-start', valueString: String(eventNumber) },
            { name: 'notification-event', part: [{ name: 'event-number', valueString: String(eventNumber) }, { name: 'focus', valueReference: { reference: focus } }] },
          ],
        },
      },
    ],
  });
}

describe('an EHR that is down while id-only events are resolved', () => {
  let db: TestDatabase;
  let server: RunningServer;
  let pool: pg.Pool;
  let ehr: SandboxEhr | undefined;
  let port: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    port = await freePort();
    server = await startServer(
      testConfig({ DATABASE_URL: db.url, FHIR_BASE_URL: `http://127.0.0.1:${port}/fhir`, JOB_RETRY_LIMIT: '6', JOB_RETRY_DELAY_S: '1', OUTBOUND_TIMEOUT_MS: '1000' }),
      { role: 'worker' },
    );
    pool = server.runtime.pool;
    const sql = upsertSubscriptionSql({ key: 'obs', ehrSubscription: 'obs', kind: 'backport-topic', criteria: 'Observation', secret: SECRET, status: 'active' });
    await pool.query(sql.text, sql.values);
  });

  afterAll(async () => {
    await server?.stop();
    await ehr?.close();
    await db?.drop();
  });

  const post = (body: string) =>
    server.server.inject({
      method: 'POST',
      url: '/intake/obs',
      headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${SECRET}` },
      payload: body,
    });

  it('stores the event while the EHR refuses connections, retries with backoff, then resolves it', async () => {
    expect((await post(idOnly(1, 'Observation/o-down'))).statusCode).toBe(200);
    // Let at least one attempt fail against the closed port.
    await waitFor(async () => {
      const { rows } = await pool.query("SELECT retry_count FROM pgboss.job WHERE name = 'resolve-notifications' AND retry_count > 0");
      return rows[0];
    }, 'a failed resolve attempt');
    ehr = await createSandboxEhr({ logger: false });
    // The data exists before the EHR answers, so no retry can see a 404 for it.
    const patient = await ehr.repo.updateResource<Patient>({ resourceType: 'Patient', id: 'p-down', gender: 'female', birthDate: '1955-01-01' });
    await ehr.repo.updateResource<Observation>({
      resourceType: 'Observation',
      id: 'o-down',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patient.id}` },
      valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    await ehr.listen(port, '127.0.0.1');
    const resolved = await waitFor(async () => {
      const { rows } = await pool.query("SELECT patient_id FROM notification_inbox WHERE subscription = 'obs' AND event_number = 1 AND patient_id IS NOT NULL");
      return rows[0] as { patient_id: string } | undefined;
    }, 'the event resolved once the EHR is back', 120_000);
    expect(resolved.patient_id).toBe('p-down');
    const { rows: letters } = await pool.query("SELECT 1 FROM dead_letters WHERE queue = 'resolve-notifications'");
    expect(letters).toHaveLength(0);
  }, 180_000);
});
