import type { Observation } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { createEhrClient } from '../fhir/ehr-client.js';
import { syncSubscriptions } from '../subscriptions/subscription-sync.js';
import { startServer } from '../main.js';
import { startDemoSandbox } from '../sandbox/demo-sandbox.js';
import { createRng } from '../sandbox/cohort/seeded-random.js';
import { folderClosedToOthers, runningAsRoot } from '../store/postgres-user-access.js';
import { assessmentsAfter, latestAssessmentId } from '../store/ledger-repository.js';

/** Options of `fhir-fusion demo`. */
export interface DemoOptions {
  patients: number;
  seed: number;
  port: number;
  ehrPort: number;
  intervalMs: number;
  /** Exit after this many assessments have been written (for scripted runs). */
  stopAfter?: number;
}

/**
 * The demo's `DATA_DIR` when none is set: `.data` in the checkout, unless this process is root and
 * user `postgres` (which runs the embedded Postgres) cannot enter the checkout — a clone under
 * `/root` or in a `mktemp -d` folder. The demo's data is throw-away, so it then lives in a folder
 * of its own under the system temp folder, one per checkout.
 */
async function defaultDemoDataDir(): Promise<string> {
  const local = resolve('.data');
  if (!runningAsRoot() || (await folderClosedToOthers(local)) === undefined) return '.data';
  const key = createHash('sha256').update(process.cwd()).digest('hex').slice(0, 12);
  return join(tmpdir(), `fhir-fusion-demo-${key}`);
}

/**
 * `npm run demo`: embedded Postgres, the sandbox EHR (FHIR + DICOMweb + SMART) loaded with a
 * synthetic multimodal cohort, and fhir-fusion wired to it by configuration alone — exactly as it
 * would be to a real EHR. It registers the Subscriptions, then plays a bedside monitor: every few
 * seconds a new vital sign is written to the EHR for one patient; the EHR notifies fhir-fusion,
 * which assesses the patient and writes RiskAssessment + Provenance back. Each write is printed.
 * Everything here is synthetic; the reference models are trained on synthetic data.
 */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const dataDir = process.env.DATA_DIR ?? (await defaultDemoDataDir());
  console.log('fhir-fusion demo — synthetic data only, not for clinical use\n');
  if (dataDir !== (process.env.DATA_DIR ?? '.data')) {
    console.log(`data in ${dataDir}: user postgres (the embedded Postgres) cannot enter this checkout as root\n`);
  }
  console.log(`starting the sandbox EHR and loading ${options.patients} synthetic patients...`);
  const sandbox = await startDemoSandbox({ port: options.ehrPort, patients: options.patients, seed: options.seed });
  console.log(`  FHIR R4   ${sandbox.fhirBaseUrl}`);
  console.log(`  DICOMweb  ${sandbox.dicomwebBaseUrl}`);

  const publicUrl = `http://127.0.0.1:${options.port}`;
  const config = loadConfig({
    LOG_LEVEL: 'warn',
    DATA_DIR: join(dataDir, 'demo'),
    PORT: String(options.port),
    PUBLIC_URL: publicUrl,
    FHIR_BASE_URL: sandbox.fhirBaseUrl,
    DICOMWEB_BASE_URL: sandbox.dicomwebBaseUrl,
    COALESCE_WINDOW_MS: '1000',
    // The fusion models; the unimodal baselines in models/ are there for evaluation.
    ACTIVE_MODELS: 'attention-fusion@1,late-fusion@1',
    ...process.env,
  });
  console.log(config.DATABASE_URL ? 'using DATABASE_URL' : `starting embedded Postgres under ${config.DATA_DIR}/postgres...`);
  const server = await startServer(config);
  const { pool } = server.runtime;
  const ehr = createEhrClient({ fhirBaseUrl: sandbox.fhirBaseUrl, fetch });
  const synced = await syncSubscriptions({ client: ehr, pool, publicUrl });
  console.log(`fhir-fusion listening on ${server.url} — subscriptions: ${synced.map((s) => `${s.key} (${s.action})`).join(', ')}`);
  console.log(`open ${publicUrl}/ to watch assessments; Ctrl-C to stop\n`);

  let lastId = await latestAssessmentId(pool);
  let written = 0;
  const rng = createRng(options.seed, 1);
  let stopped = false;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const feed = setInterval(() => {
    const patientId = sandbox.patientIds[Math.floor(rng.next() * sandbox.patientIds.length)];
    if (!patientId) return;
    void ehr.createResource<Observation>(vitalSign(patientId, rng.next())).catch((err: unknown) => {
      console.error(`could not write a vital sign: ${(err as Error).message}`);
    });
  }, options.intervalMs);

  let polling = false;
  const watch = setInterval(() => {
    if (polling) return;
    polling = true;
    void assessmentsAfter(pool, lastId)
      .then((rows) => {
        for (const row of rows) {
          lastId = Math.max(lastId, Number(row.id));
          written++;
          const predictions = row.predictions
            .map((p) => `${p.outcome} ${(p.probability * 100).toFixed(1)}% ${p.qualitativeRisk}`)
            .join(' · ');
          const missing = row.missing_modalities.length > 0 ? `  [missing: ${row.missing_modalities.join('; ')}]` : '';
          console.log(`${new Date().toISOString().slice(11, 19)}  ${row.risk_assessment_ref}  ${row.model_name}@${row.model_version} (${row.execution_provider})  ${predictions}${missing}`);
        }
        if (options.stopAfter !== undefined && written >= options.stopAfter) resolveDone();
      })
      .catch(() => undefined)
      .finally(() => {
        polling = false;
      });
  }, 500);

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearInterval(feed);
    clearInterval(watch);
    console.log(`\nstopping: ${written} risk assessments written during this run`);
    await server.stop();
    await sandbox.close();
  };
  process.once('SIGINT', resolveDone);
  process.once('SIGTERM', resolveDone);
  await done;
  await stop();
  return 0;
}

/** A new heart-rate or SpO2 reading as a bedside monitor would send (FHIR vital-signs profile). */
function vitalSign(patientId: string, u: number): Observation {
  const heartRate = u < 0.5;
  const value = heartRate ? Math.round(60 + u * 120) : Math.round(86 + u * 14);
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }],
      },
    ],
    code: heartRate
      ? { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] }
      : { coding: [{ system: 'http://loinc.org', code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: heartRate
      ? { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' }
      : { value, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
  };
}
