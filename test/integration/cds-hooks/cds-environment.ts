import type { Observation, Patient, RiskAssessment } from '@medplum/fhirtypes';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { syncSubscriptions } from '../../../src/subscriptions/subscription-sync.js';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { startCdsTestClient, type CdsTestClient } from './cds-client-keys.js';
import { freePort } from '../../helpers/free-port.js';

/** Sandbox EHR + fhir-fusion + a CDS client, with one patient already assessed. */
export interface CdsEnvironment {
  ehr: SandboxEhr;
  fhirBaseUrl: string;
  server: RunningServer;
  publicUrl: string;
  client: CdsTestClient;
  patient: Patient;
  assessment: RiskAssessment;
  stop(): Promise<void>;
}

function vital(patientId: string, code: string, value: number, unit: string, ucum: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: ucum },
  };
}

/**
 * Starts the sandbox EHR, fhir-fusion (serving `model`, with the test CDS client allowed) on a
 * known port (embedded Postgres under DATA_DIR when no database URL is given), subscribes, records vitals for a new patient and waits for the RiskAssessment.
 */
export async function startCdsEnvironment(options: { databaseUrl?: string; model?: string; settings?: Record<string, string> }): Promise<CdsEnvironment> {
  const ehr = await createSandboxEhr({ logger: false });
  const fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
  const client = await startCdsTestClient();
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: publicUrl,
    LOG_LEVEL: 'error',
    COALESCE_WINDOW_MS: '0',
    JOB_RETRY_DELAY_S: '1',
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    FHIR_BASE_URL: fhirBaseUrl,
    ACTIVE_MODELS: options.model ?? 'late-fusion@1',
    CDS_HOOKS_CLIENTS: JSON.stringify({ [client.iss]: client.jwksUrl }),
    ...options.settings,
  });
  const server = await startServer(config);
  const fhir = createEhrClient({ fhirBaseUrl, fetch });
  await syncSubscriptions({ client: fhir, pool: server.runtime.pool, publicUrl: server.url });
  const patient = await fhir.createResource<Patient>({ resourceType: 'Patient', gender: 'female', birthDate: '1948-05-17' });
  const id = patient.id ?? '';
  await fhir.createResource(vital(id, '8867-4', 124, 'beats/minute', '/min'));
  // Sick but inside the reference models' training range (RR ≤ 29/min, SpO2 ≥ 88 %): beyond it the
  // labs out-of-distribution detector refuses the labs and the model abstains (README known gaps).
  await fhir.createResource(vital(id, '9279-1', 28, 'breaths/minute', '/min'));
  await fhir.createResource(vital(id, '59408-5', 89, '%', '%'));
  // Enough for the model to assess every outcome (issue #17: three vitals are "too little
  // information"; heart failure needs NT-proBNP/troponin, pneumonia an inflammatory marker, AF labs).
  await fhir.createResource(vital(id, '8310-5', 38.4, 'Cel', 'Cel'));
  await fhir.createResource(vital(id, '33762-6', 2400, 'pg/mL', 'pg/mL'));
  await fhir.createResource(vital(id, '1988-5', 90, 'mg/L', 'mg/L'));
  await fhir.createResource(vital(id, '2823-3', 4.4, 'mmol/L', 'mmol/L'));
  const deadline = Date.now() + 60_000;
  let assessment: RiskAssessment | undefined;
  while (!assessment) {
    // Jobs run per notification; the earliest ones see too little and write "not assessed".
    assessment = (await fhir.searchResources('RiskAssessment', { subject: `Patient/${id}` }, { cache: 'no-cache' })).find(
      (ra) => (ra.prediction?.length ?? 0) === 3,
    );
    if (assessment) break;
    if (Date.now() > deadline) throw new Error('timed out waiting for a RiskAssessment');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    ehr,
    fhirBaseUrl,
    server,
    publicUrl,
    client,
    patient,
    assessment,
    async stop() {
      await server.stop();
      await ehr.close();
      await client.close();
    },
  };
}
