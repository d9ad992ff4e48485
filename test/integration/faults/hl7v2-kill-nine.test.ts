import type { Patient } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { HL7V2_RESULT_SYSTEM } from '../../../src/intake/hl7v2/oru-to-fhir.js';
import { ASSESS_QUEUE } from '../../../src/jobs/assess-queue.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { sendOverMllp } from '../../../src/sandbox/hl7v2/mllp-sender.js';
import { renderOruR01 } from '../../../src/sandbox/hl7v2/oru-r01.js';
import { freePorts } from '../../helpers/free-port.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import type { ChildServer } from './child-server.js';
import { startChildServer } from './child-server.js';

const MRN = { system: 'https://hospital.example.org/fhir/sid/mrn', value: 'MRN-K9' };

/**
 * The HL7 v2 door's crash window: `serve --role intake` is SIGKILLed while the EHR commits the
 * results' transaction, i.e. after the EHR write and before the inbox commit and the ACK. The
 * sender got no ACK, resends after the restart, and must get `AA` with nothing lost (inbox row and
 * job committed) and nothing duplicated (the conditional creates match).
 */
describe('HL7 v2: kill -9 between the EHR write and the ACK', () => {
  let db: TestDatabase;
  let ehr: SandboxEhr;
  let pool: pg.Pool;
  let child: ChildServer | undefined;
  let env: Record<string, string>;
  let httpPort: number;
  let mllpPort: number;
  let patient: Patient;
  let killDuringTransaction = false;
  let killed = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    ehr = await createSandboxEhr({ logger: false });
    // When armed: the transaction has been committed in the EHR; kill fhir-fusion before it hears so.
    ehr.app.addHook('onSend', async (request, _reply, payload) => {
      if (
        killDuringTransaction &&
        request.method === 'POST' &&
        /^\/fhir\/?(\?.*)?$/.test(request.url) &&
        child
      ) {
        killDuringTransaction = false;
        await child.kill9();
        killed++;
      }
      return payload;
    });
    const fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
    patient = await createEhrClient({ fhirBaseUrl, fetch }).createResource<Patient>({
      resourceType: 'Patient',
      identifier: [MRN],
      gender: 'female',
      birthDate: '1951-01-02',
    });
    [httpPort, mllpPort] = (await freePorts(2)) as [number, number];
    env = { DATABASE_URL: db.url, FHIR_BASE_URL: fhirBaseUrl, HL7_MLLP_PORT: String(mllpPort) };
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  }, 120_000);

  afterAll(async () => {
    await child?.stop();
    await pool?.end();
    await ehr?.close();
    await db?.drop();
  });

  it('the resend after the restart is answered AA; one inbox row, one job, no duplicate Observation', async () => {
    const client = createEhrClient({ fhirBaseUrl: env.FHIR_BASE_URL!, fetch });
    const message = renderOruR01({
      controlId: 'K9-1',
      patientIdentifier: MRN,
      observations: [
        {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '2160-0', display: 'Creatinine' }] },
          effectiveDateTime: new Date().toISOString(),
          valueQuantity: { value: 2.1, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
        },
        {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '6690-2', display: 'Leukocytes' }] },
          effectiveDateTime: new Date().toISOString(),
          valueQuantity: {
            value: 15.3,
            unit: '10*3/uL',
            system: 'http://unitsofmeasure.org',
            code: '10*3/uL',
          },
        },
      ],
    });
    child = await startChildServer(env, httpPort, 60_000, 'intake');
    killDuringTransaction = true;
    await expect(
      sendOverMllp({ host: '127.0.0.1', port: mllpPort }, [message], { timeoutMs: 5000, attempts: 1 }),
    ).rejects.toThrow();
    expect(killed).toBe(1);
    // The EHR holds the results; fhir-fusion's inbox does not.
    const written = await client.searchResources('Observation', {
      identifier: `${HL7V2_RESULT_SYSTEM}|`,
      subject: `Patient/${patient.id}`,
    });
    expect(written).toHaveLength(2);
    expect(
      Number(
        (await pool.query("SELECT count(*) AS n FROM notification_inbox WHERE dialect = 'hl7v2'")).rows[0]?.n,
      ),
    ).toBe(0);

    child = await startChildServer(env, httpPort, 60_000, 'intake');
    const [ack] = await sendOverMllp({ host: '127.0.0.1', port: mllpPort }, [message]);
    expect(ack?.code).toBe('AA');
    const inbox = await pool.query<{ patient_id: string }>(
      "SELECT patient_id FROM notification_inbox WHERE dialect = 'hl7v2'",
    );
    expect(inbox.rows).toEqual([{ patient_id: patient.id }]);
    const jobs = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND data->>'patientId' = $2`,
      [ASSESS_QUEUE, patient.id],
    );
    expect(Number(jobs.rows[0]?.n)).toBe(1);
    const after = await client.searchResources('Observation', {
      identifier: `${HL7V2_RESULT_SYSTEM}|`,
      subject: `Patient/${patient.id}`,
    });
    expect(after.map((o) => o.id).sort()).toEqual(written.map((o) => o.id).sort());
  }, 180_000);
});
