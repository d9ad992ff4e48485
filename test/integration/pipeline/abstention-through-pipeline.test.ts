import type { Extension, Observation, Patient, RiskAssessment } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { syncSubscriptions } from '../../../src/subscriptions/subscription-sync.js';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { EXTENSION_URLS } from '../../../src/contracts/fusion-terminology.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import { pollUntil } from '../../helpers/fusion-fixture.js';

/**
 * Issue #17 end to end: sandbox EHR → notification → job → every served model → RiskAssessment in
 * the EHR. A patient with demographics and one heart rate, and a patient whose ECG has the shape of
 * the R4 specification's own ECG example, must get "not assessed" — never a probability.
 */

const MDC = 'urn:oid:2.16.840.1.113883.6.24';

/** {@link pollUntil} with this file's bound on a hang. */
function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  return pollUntil(probe, what, { timeoutMs, intervalMs: 250 });
}

function heartRate(patientId: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: { value: 118, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

/**
 * The shape of the R4 specification's ECG example (observation-example-sample-data): three leads
 * (MDC_ECG_ELEC_POTL_I/II/III), period 10 ms, origin 2048 with NO unit, factor 1.612, lower/upper
 * limits ±3300, 116 samples each. The digits are generated here (an oscillation around 2048).
 */
function r4ExampleEcg(patientId: string): Observation {
  const digits = (seed: number) => Array.from({ length: 116 }, (_, k) => 2048 + Math.round(60 * Math.sin((k + seed) / 5))).join(' ');
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'procedure' }] }],
    code: { coding: [{ system: MDC, code: '131328', display: 'MDC_ECG_ELEC_POTL' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    component: [
      ['131329', 'MDC_ECG_ELEC_POTL_I'],
      ['131330', 'MDC_ECG_ELEC_POTL_II'],
      ['131389', 'MDC_ECG_ELEC_POTL_III'],
    ].map(([code, display], i) => ({
      code: { coding: [{ system: MDC, code, display }] },
      valueSampledData: { origin: { value: 2048 }, period: 10, factor: 1.612, lowerLimit: -3300, upperLimit: 3300, dimensions: 1, data: digits(i * 7) },
    })),
  };
}

function sub(e: Extension, url: string): Extension | undefined {
  return e.extension?.find((x) => x.url === url);
}

function notAssessed(ra: RiskAssessment): Array<{ outcome: string | undefined; reason: string | undefined; detail: string | undefined }> {
  return (ra.extension ?? [])
    .filter((e) => e.url === EXTENSION_URLS.outcomeNotAssessed)
    .map((e) => ({ outcome: sub(e, 'outcome')?.valueCodeableConcept?.coding?.[0]?.code, reason: sub(e, 'reason')?.valueCoding?.code, detail: sub(e, 'detail')?.valueString }));
}

function modelOf(ra: RiskAssessment): string | undefined {
  return ra.method?.coding?.[0]?.code;
}

describe('abstention through the whole pipeline (issue #17)', () => {
  let db: TestDatabase;
  let ehr: SandboxEhr;
  let fhirBaseUrl: string;
  let server: RunningServer;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    ehr = await createSandboxEhr({ logger: false });
    fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
    // Every model in models/ is served (ACTIVE_MODELS empty).
    server = await startServer(testConfig({ DATABASE_URL: db.url, FHIR_BASE_URL: fhirBaseUrl }));
    pool = server.runtime.pool;
    await syncSubscriptions({ client: createEhrClient({ fhirBaseUrl, fetch }), pool, publicUrl: server.url });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await ehr?.close();
    await db?.drop();
  });

  /** Creates the resources (the last one notifies), waits for its job, returns the patient's RiskAssessments. */
  async function assess(build: (patientId: string) => Observation[]): Promise<RiskAssessment[]> {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    const patient = await client.createResource<Patient>({ resourceType: 'Patient', gender: 'male', birthDate: '1948-06-01' });
    const created: Observation[] = [];
    for (const o of build(patient.id ?? '')) created.push(await client.createResource(o));
    const last = created[created.length - 1]?.id;
    await waitFor(async () => {
      const { rows } = await pool.query<{ status: string }>('SELECT status FROM notification_inbox WHERE resource_id = $1', [last]);
      return rows.length > 0 && rows.every((r) => r.status === 'processed') ? true : undefined;
    }, 'the notification to be processed');
    return client.searchResources('RiskAssessment', { subject: `Patient/${patient.id}` });
  }

  it('(a) demographics plus one heart rate: every written RiskAssessment says "not assessed: too little information" for every outcome, never a probability', async () => {
    const written = await assess((id) => [heartRate(id)]);
    // The four models that read labs and vitals write; the image/text/ECG-only models have nothing to read.
    expect(written.map(modelOf).sort()).toEqual(['attention-fusion', 'early-fusion', 'late-fusion', 'tabular-mlp', 'tabular-risk']);
    for (const ra of written) {
      expect(ra.status).toBe('final');
      expect(ra.prediction ?? [], modelOf(ra)).toEqual([]);
      expect(JSON.stringify(ra)).not.toMatch(/"code":"(high|moderate|low|negligible|certain)"/);
      const declared = notAssessed(ra);
      expect(declared.map((d) => d.reason), modelOf(ra)).toEqual(['too-little-information', 'too-little-information', 'too-little-information']);
      expect(declared[0]?.detail).toMatch(/^too little information: needs /);
      expect(ra.note?.[0]?.text).toMatch(/[Nn]ot assessed: Acute heart failure \(too little information/);
      expect(ra.basis?.some((b) => b.reference?.startsWith('Observation/'))).toBe(true);
    }
  }, 180_000);

  it('(b) the R4 example ECG (3 leads, unit-less origin): the ECG is named missing "ECG not usable: …" and the ECG-only models say "not assessed", never a probability of 0', async () => {
    const written = await assess((id) => [heartRate(id), r4ExampleEcg(id)]);
    const models = written.map(modelOf).sort();
    expect(models).toEqual(['attention-fusion', 'early-fusion', 'ecg-cnn', 'ecg-image-cnn', 'late-fusion', 'tabular-mlp', 'tabular-risk']);
    for (const ra of written) {
      // No probability at all — in particular not the 0.000000 "low" the issue reported.
      expect(ra.prediction ?? [], modelOf(ra)).toEqual([]);
      expect(notAssessed(ra)).toHaveLength(3);
    }
    for (const name of ['ecg-cnn', 'ecg-image-cnn', 'late-fusion', 'attention-fusion', 'early-fusion']) {
      const ra = written.find((r) => modelOf(r) === name)!;
      const missingEcg = (ra.extension ?? []).find((e) => e.url === EXTENSION_URLS.missingModality && sub(e, 'modality')?.valueCoding?.code === 'ecg');
      expect(sub(missingEcg!, 'detail')?.valueString, name).toMatch(/^ECG not usable: /);
    }
    for (const name of ['ecg-cnn', 'ecg-image-cnn']) {
      const ra = written.find((r) => modelOf(r) === name)!;
      const declared = notAssessed(ra);
      expect(declared.every((d) => d.reason === 'required-input-missing' && /^ecg not usable \(\S+\): ECG not usable: /.test(d.detail ?? '')), name).toBe(true);
      // It rests on the ECG it considered and declined.
      expect(ra.basis?.map((b) => b.reference?.split('/')[0])).toEqual(['Observation']);
    }
  }, 180_000);
});
