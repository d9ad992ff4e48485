import type { Observation, Patient, Provenance, RiskAssessment } from '@medplum/fhirtypes';
import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import type { RunningServer } from '../../../src/main.js';
import type { AssessPatientDeps } from '../../../src/pipeline/stage-types.js';
import { assessPatient } from '../../../src/pipeline/assess-patient.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { EXTENSION_URLS } from '../../../src/contracts/fusion-terminology.js';
import { useFusionFixture } from '../../helpers/fusion-fixture.js';

const SECRET = 'exactly-once-secret';

/**
 * Exactly-once out: the same notification delivered three times, and a job that crashes after
 * its write reached the EHR but before it was acknowledged, both leave exactly one RiskAssessment.
 * The server asks for `cuda,cpu` on a machine without CUDA: it must serve on CPU and say so.
 */
describe('exactly one RiskAssessment per assessment identity', () => {
  let fhirBaseUrl: string;
  let server: RunningServer;
  let pool: pg.Pool;
  let patientId: string;
  let observation: Observation;

  const fixture = useFusionFixture({
    subscribe: false,
    config: () => ({ ACTIVE_MODELS: 'tabular-risk@1', EXECUTION_PROVIDERS: 'cuda,cpu' }),
    seed: async (client) => {
      const patient = await client.createResource<Patient>({ resourceType: 'Patient', gender: 'female', birthDate: '1941-05-06' });
      patientId = patient.id ?? '';
      observation = await client.createResource<Observation>({
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: `Patient/${patientId}` },
        effectiveDateTime: new Date().toISOString(),
        valueQuantity: { value: 124, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      });
      // Enough vitals and labs for tabular-risk to assess every outcome (issue #17: demographics plus
      // one heart rate is "not assessed", and this test is about the write, not abstention).
      for (const [code, value, ucum] of [
        ['9279-1', 22, '/min'], ['59408-5', 93, '%'], ['8310-5', 38.1, 'Cel'], ['33762-6', 1800, 'pg/mL'],
        ['1988-5', 60, 'mg/L'], ['2823-3', 4.2, 'mmol/L'], ['2951-2', 137, 'mmol/L'],
      ] as const) {
        await client.createResource<Observation>({
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code }] },
          subject: { reference: `Patient/${patientId}` },
          effectiveDateTime: new Date().toISOString(),
          valueQuantity: { value, unit: ucum, system: 'http://unitsofmeasure.org', code: ucum },
        });
      }
    },
  });

  beforeAll(async () => {
    ({ fhirBaseUrl, server, pool } = fixture());
    const sql = upsertSubscriptionSql({ key: 'observation', kind: 'rest-hook-criteria', criteria: 'Observation', secret: SECRET, status: 'active' });
    await pool.query(sql.text, sql.values);
  });

  async function riskAssessments(): Promise<RiskAssessment[]> {
    return createEhrClient({ fhirBaseUrl, fetch }).searchResources('RiskAssessment', { subject: `Patient/${patientId}` });
  }

  it('writes one RiskAssessment for a notification delivered three times, on CPU when asked for cuda,cpu', async () => {
    const body = JSON.stringify(observation);
    const signature = createHmac('sha256', SECRET).update(body).digest('hex');
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${server.url}/intake/observation`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', 'x-signature': signature },
        body,
      });
      expect(response.status).toBe(200);
    }
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      const { rows } = await pool.query<{ status: string }>('SELECT status FROM notification_inbox WHERE resource_id = $1', [observation.id]);
      if (rows[0]?.status === 'processed') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const written = await riskAssessments();
    expect(written).toHaveLength(1);
    const provenance = await createEhrClient({ fhirBaseUrl, fetch }).searchResources('Provenance', {
      target: `RiskAssessment/${written[0]?.id}`,
    });
    expect(provenance).toHaveLength(1);
    const provider = (provenance[0] as Provenance).extension?.find((e) => e.url === EXTENSION_URLS.executionProvider);
    expect(provider?.valueCode).toBe('cpu');
  });

  it('replays a job that crashed between the EHR write and its acknowledgement without a second write', async () => {
    // A second, real job for the same patient and the same inputs, whose process "dies" right after
    // the EHR accepted the transaction: the ledger row and the inbox update never happen.
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO notification_inbox (dialect, subscription, dedupe_key, resource_type, resource_id, patient_id, trace_id, status)
       VALUES ('rest-hook-post', 'observation', 'crash-test', 'Observation', $1, $2, 'trace-crash', 'queued') RETURNING id`,
      [observation.id, patientId],
    );
    const inboxId = rows[0]?.id;
    await pool.query('DELETE FROM assessment_ledger');
    const stages = server.runtime.serving?.pipeline;
    if (!stages) throw new Error('server runs no pipeline');
    let crash = true;
    const deps: AssessPatientDeps = {
      ...stages,
      write: async (result, model) => {
        const written = await stages.write(result, model);
        if (crash) {
          crash = false;
          throw new Error('process killed after the EHR write');
        }
        return written;
      },
    };
    const job = { id: 'crash-job', data: { patientId, traceId: 'trace-crash' }, retryCount: 0, retryLimit: 3 };
    await expect(assessPatient(job, deps)).rejects.toThrow(/process killed/);
    const afterCrash = await pool.query('SELECT count(*)::int AS n FROM assessment_ledger');
    expect(afterCrash.rows[0]?.n).toBe(0);
    // pg-boss retries the job (same id, next attempt): the conditional create finds the first write.
    const summary = await assessPatient({ ...job, retryCount: 1 }, deps);
    expect(summary.written).toBe(1);
    const ledger = await pool.query<{ outcome: string }>('SELECT outcome FROM assessment_ledger');
    expect(ledger.rows.map((r) => r.outcome)).toEqual(['exists']);
    expect(await riskAssessments()).toHaveLength(1);
    const inbox = await pool.query<{ status: string }>('SELECT status FROM notification_inbox WHERE id = $1', [inboxId]);
    expect(inbox.rows[0]?.status).toBe('processed');
  });

  it('keeps the ledger equal to the EHR when the retry scores newer inputs than the run that was killed', async () => {
    // The run is killed after the EHR committed its transaction; before the retry, a new reading
    // arrives, so the retry's inputs (and identity) differ and its conditional create cannot find
    // the first write. The write-ahead intent is what accounts for that first RiskAssessment.
    const client = createEhrClient({ fhirBaseUrl, fetch });
    const stages = server.runtime.serving?.pipeline;
    if (!stages) throw new Error('server runs no pipeline');
    await pool.query('DELETE FROM assessment_ledger');
    const before = (await riskAssessments()).length;
    const newReading = async (value: number): Promise<Observation> =>
      client.createResource<Observation>({
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: `Patient/${patientId}` },
        effectiveDateTime: new Date().toISOString(),
        valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      });
    const queue = async (resourceId: string, key: string): Promise<void> => {
      await pool.query(
        `INSERT INTO notification_inbox (dialect, subscription, dedupe_key, resource_type, resource_id, patient_id, trace_id, status)
         VALUES ('rest-hook-post', 'observation', $3, 'Observation', $1, $2, 'trace-newer', 'queued')`,
        [resourceId, patientId, key],
      );
    };
    await queue((await newReading(101)).id ?? '', 'killed-run');
    let crash = true;
    const deps: AssessPatientDeps = {
      ...stages,
      write: async (result, model) => {
        const written = await stages.write(result, model);
        if (crash) {
          crash = false;
          throw new Error('process killed after the EHR write');
        }
        return written;
      },
    };
    const job = { id: 'newer-inputs-job', data: { patientId, traceId: 'trace-newer' }, retryCount: 0, retryLimit: 3 };
    await expect(assessPatient(job, deps)).rejects.toThrow(/process killed/);
    const intents = await pool.query('SELECT identity FROM writeback_intents WHERE patient_id = $1', [patientId]);
    expect(intents.rows).toHaveLength(1);
    await queue((await newReading(99)).id ?? '', 'newer-reading');
    const summary = await assessPatient({ ...job, retryCount: 1 }, deps);
    expect(summary.written).toBe(1);
    const written = await riskAssessments();
    expect(written).toHaveLength(before + 2);
    const ledger = await pool.query<{ risk_assessment_ref: string; identity: string }>('SELECT risk_assessment_ref, identity FROM assessment_ledger');
    expect(ledger.rows).toHaveLength(2);
    const newest = written.filter((ra) => ledger.rows.some((l) => l.risk_assessment_ref === `RiskAssessment/${ra.id}`));
    expect(newest).toHaveLength(2);
    expect(new Set(newest.map((ra) => ra.identifier?.[0]?.value))).toEqual(new Set(ledger.rows.map((l) => l.identity)));
    expect((await pool.query('SELECT count(*)::int AS n FROM writeback_intents')).rows[0]?.n).toBe(0);
  });

  it('forgets an intent whose transaction the EHR never committed', async () => {
    const stages = server.runtime.serving?.pipeline;
    if (!stages) throw new Error('server runs no pipeline');
    await pool.query(
      `INSERT INTO writeback_intents (identity, patient_id, entry) VALUES ('never-committed', $1, $2)`,
      [patientId, JSON.stringify({ identity: 'never-committed', patientId, modelName: 'tabular-risk', modelVersion: '1', executionProvider: 'cpu', predictions: [], missingModalities: [], traceId: 't' })],
    );
    await pool.query(
      `INSERT INTO notification_inbox (dialect, subscription, dedupe_key, resource_type, resource_id, patient_id, trace_id, status)
       VALUES ('rest-hook-post', 'observation', 'never-committed', 'Observation', $1, $2, 'trace-never', 'queued')`,
      [observation.id, patientId],
    );
    await assessPatient({ id: 'never-committed-job', data: { patientId, traceId: 'trace-never' }, retryCount: 0, retryLimit: 3 }, stages);
    const { rows } = await pool.query("SELECT identity FROM assessment_ledger WHERE identity = 'never-committed'");
    expect(rows).toHaveLength(0);
    expect((await pool.query('SELECT count(*)::int AS n FROM writeback_intents')).rows[0]?.n).toBe(0);
  });
});
