import type { Observation, Patient, RiskAssessment } from '@medplum/fhirtypes';
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { freePort } from '../../helpers/free-port.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import type { ChildServer } from './child-server.js';
import { startChildServer } from './child-server.js';
import { pollUntil } from '../../helpers/fusion-fixture.js';

const SECRET = 'kill-nine-secret';

/** {@link pollUntil} with this file's bound on a hang. */
function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  return pollUntil(probe, what, { timeoutMs, intervalMs: 250 });
}

describe('kill -9 of the server in the middle of jobs, several times', () => {
  let db: TestDatabase;
  let ehr: SandboxEhr;
  let fhirBaseUrl: string;
  let pool: pg.Pool;
  let child: ChildServer | undefined;
  let env: Record<string, string>;
  let port: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    ehr = await createSandboxEhr({ logger: false });
    fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
    port = await freePort();
    env = {
      DATABASE_URL: db.url,
      FHIR_BASE_URL: fhirBaseUrl,
      COALESCE_WINDOW_MS: '0',
      JOB_RETRY_DELAY_S: '1',
      JOB_RETRY_LIMIT: '5',
      SUBSCRIPTION_CHECK_INTERVAL_MS: '500',
      // One model keeps each restart short on a 2-core CI machine.
      ACTIVE_MODELS: 'tabular-risk@1',
    };
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });

  afterAll(async () => {
    await child?.stop();
    await pool?.end();
    await ehr?.close();
    await db?.drop();
  });

  it('processes every notification and writes exactly one RiskAssessment per assessment identity', async () => {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    const observations: Observation[] = [];
    for (let p = 0; p < 8; p++) {
      const patient = await client.createResource<Patient>({ resourceType: 'Patient', gender: p % 2 ? 'male' : 'female', birthDate: `19${40 + p}-05-06` });
      for (const [code, value, ucum] of [['8867-4', 80 + p, '/min'], ['9279-1', 14 + p, '/min'], ['59408-5', 95, '%']] as const) {
        observations.push(
          await client.createResource<Observation>({
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code }] },
            subject: { reference: `Patient/${patient.id}` },
            effectiveDateTime: new Date().toISOString(),
            valueQuantity: { value, unit: ucum, system: 'http://unitsofmeasure.org', code: ucum },
          }),
        );
      }
    }
    child = await startChildServer(env, port);
    const sql = upsertSubscriptionSql({ key: 'observation', kind: 'rest-hook-criteria', criteria: 'Observation', secret: SECRET, status: 'active' });
    await pool.query(sql.text, sql.values);
    for (const obs of observations) {
      const body = JSON.stringify(obs);
      const response = await fetch(`${child.url}/intake/observation`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', 'x-signature': createHmac('sha256', SECRET).update(body).digest('hex') },
        body,
      });
      expect(response.status).toBe(200); // committed before the 2xx
    }

    // Twice (each restart loads the models again; CI has 2 cores): let some jobs run, then kill -9
    // mid-flight and restart.
    for (let round = 0; round < 2; round++) {
      const before = Number((await pool.query('SELECT count(*) AS n FROM assessment_ledger')).rows[0]?.n ?? 0);
      await waitFor(async () => {
        const n = Number((await pool.query('SELECT count(*) AS n FROM assessment_ledger')).rows[0]?.n ?? 0);
        const open = Number((await pool.query("SELECT count(*) AS n FROM notification_inbox WHERE status IN ('received', 'queued')")).rows[0]?.n ?? 0);
        return n > before || open === 0 ? true : undefined;
      }, `progress in round ${round}`, 60_000);
      await child.kill9();
      child = await startChildServer(env, port);
    }

    await waitFor(async () => {
      const { rows } = await pool.query<{ n: string }>("SELECT count(*) AS n FROM notification_inbox WHERE status <> 'processed'");
      return rows[0]?.n === '0' ? true : undefined;
    }, 'every notification processed');
    const { rows: inbox } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM notification_inbox');
    expect(Number(inbox[0]?.n)).toBe(observations.length);

    const written = (await client.searchResources('RiskAssessment', { _count: '1000' })) as RiskAssessment[];
    const byIdentity = new Map<string, number>();
    for (const ra of written) {
      const identity = `${ra.identifier?.[0]?.system}|${ra.identifier?.[0]?.value}`;
      byIdentity.set(identity, (byIdentity.get(identity) ?? 0) + 1);
    }
    expect([...byIdentity.values()].every((n) => n === 1)).toBe(true);
    const { rows: ledger } = await pool.query<{ risk_assessment_ref: string; patient_id: string }>('SELECT risk_assessment_ref, patient_id FROM assessment_ledger');
    expect(new Set(ledger.map((l) => l.risk_assessment_ref))).toEqual(new Set(written.map((r) => `RiskAssessment/${r.id}`)));
    expect(new Set(ledger.map((l) => l.patient_id)).size).toBe(8);
  }, 240_000);
});
