import type { DiagnosticReport, Observation } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/load-config.js';
import { createEhrClient } from '../fhir/ehr-client.js';
import { syncSubscriptions } from '../subscriptions/subscription-sync.js';
import { startServer } from '../main.js';
import { startDemoSandbox } from '../sandbox/demo-sandbox.js';
import { createRng } from '../sandbox/cohort/seeded-random.js';
import { storeOverDimse } from '../sandbox/dimse/cstore-scu.js';
import type { HeldRadiograph } from '../sandbox/dimse/held-radiographs.js';
import { sendOverMllp } from '../sandbox/hl7v2/mllp-sender.js';
import { renderOruR01 } from '../sandbox/hl7v2/oru-r01.js';
import { folderClosedToOthers, runningAsRoot } from '../store/postgres-user-access.js';
import { assessmentsAfter, latestAssessmentId } from '../store/ledger-repository.js';
import { AIAST, PROFILE_URLS } from '../contracts/fusion-terminology.js';

/** How the demo's new data reaches fhir-fusion. */
export type DemoFeed = 'fhir' | 'hl7v2' | 'dimse';

/** The demo modality's AE title, and fhir-fusion's in the demo (PS3.8 §9.3.2). */
const DEMO_MODALITY_AE = 'SANDBOXMOD';
const DEMO_SCP_AE = 'FHIRFUSION';

/** Options of `fhir-fusion demo`. */
export interface DemoOptions {
  patients: number;
  seed: number;
  port: number;
  ehrPort: number;
  intervalMs: number;
  /** Exit after this many assessments have been written (for scripted runs). */
  stopAfter?: number;
  /**
   * How new data reaches fhir-fusion: `fhir` writes vital signs to the EHR (its subscription
   * notifies), `hl7v2` sends lab results as ORU^R01 over MLLP (the HL7 v2 door), `dimse` pushes
   * the cohort's chest radiographs with C-STORE (the DICOM DIMSE door).
   */
  feed?: DemoFeed;
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
    console.log(
      `data in ${dataDir}: user postgres (the embedded Postgres) cannot enter this checkout as root\n`,
    );
  }
  console.log(`starting the sandbox EHR and loading ${options.patients} synthetic patients...`);
  const publicUrl = `http://127.0.0.1:${options.port}`;
  // The sandbox's SMART server registers the review app, so each localised finding can be opened
  // in it as a chart would (EHR launch); the client id must be the one fhir-fusion sends.
  const reviewClientId = process.env.SMART_APP_CLIENT_ID ?? 'fhir-fusion-review';
  const sandbox = await startDemoSandbox({
    port: options.ehrPort,
    reviewApp: {
      clientId: reviewClientId,
      launchUrl: `${publicUrl}/review/launch`,
      redirectUri: `${publicUrl}/review/callback`,
    },
    patients: options.patients,
    seed: options.seed,
    // The radiographs are the modality's to push, so the EHR and PACS start without them.
    holdRadiographs: options.feed === 'dimse',
  });
  console.log(`  FHIR R4   ${sandbox.fhirBaseUrl}`);
  console.log(`  DICOMweb  ${sandbox.dicomwebBaseUrl}`);
  // Issue #20: image-cnn@1 stores a DICOM SEG here for each image finding it calls and locates.
  console.log(`  AI SEGs   ${sandbox.dicomwebBaseUrl}/studies?ModalitiesInStudy=SEG`);

  const config = loadConfig({
    LOG_LEVEL: 'warn',
    DATA_DIR: join(dataDir, 'demo'),
    PORT: String(options.port),
    PUBLIC_URL: publicUrl,
    SMART_APP_CLIENT_ID: reviewClientId,
    FHIR_BASE_URL: sandbox.fhirBaseUrl,
    DICOMWEB_BASE_URL: sandbox.dicomwebBaseUrl,
    COALESCE_WINDOW_MS: '1000',
    // The fusion models, and the radiograph model for its finding localiser (issue #20: where on the
    // image, as a DICOM SEG and an imaging-finding Observation); the other unimodal baselines in
    // models/ are there for evaluation.
    ACTIVE_MODELS: 'attention-fusion@1,late-fusion@1,image-cnn@1',
    // Issue #20: each assessed patient's radiograph also gets an AI-drafted description, written as a
    // preliminary DiagnosticReport for a clinician to accept or reject in the review app (reference
    // drafter, trained on synthetic data; off by default outside the demo).
    DESCRIPTION_MODEL: 'report-drafter@1',
    ...(options.feed === 'hl7v2' ? { HL7_MLLP_PORT: '0' } : {}),
    ...(options.feed === 'dimse'
      ? {
          DICOM_PORT: '0',
          DICOM_AE_TITLE: DEMO_SCP_AE,
          DICOM_ALLOWED_CALLING_AE_TITLES: DEMO_MODALITY_AE,
          DICOM_STUDY_QUIET_MS: '2000',
        }
      : {}),
    ...process.env,
  });
  console.log(
    config.DATABASE_URL
      ? 'using DATABASE_URL'
      : `starting embedded Postgres under ${config.DATA_DIR}/postgres...`,
  );
  const server = await startServer(config);
  const { pool } = server.runtime;
  const ehr = createEhrClient({ fhirBaseUrl: sandbox.fhirBaseUrl, fetch });
  const synced = await syncSubscriptions({ client: ehr, pool, publicUrl });
  console.log(
    `fhir-fusion listening on ${server.url} — subscriptions: ${synced.map((s) => `${s.key} (${s.action})`).join(', ')}`,
  );
  const mllp = server.server.hl7v2;
  if (options.feed === 'hl7v2') {
    if (!mllp) throw new Error('--feed hl7v2 needs the MLLP listener (HL7_MLLP_PORT)');
    console.log(`HL7 v2 MLLP listener on 127.0.0.1:${mllp.port}: lab results arrive as ORU^R01`);
  }
  const dicom = server.server.dimse;
  const radiographs = [...sandbox.heldRadiographs];
  if (options.feed === 'dimse') {
    if (!dicom) throw new Error('--feed dimse needs the DICOM listener (DICOM_PORT)');
    console.log(
      `DICOM C-STORE SCP ${config.DICOM_AE_TITLE} on 127.0.0.1:${dicom.port}: ${radiographs.length} chest radiographs arrive from modality ${DEMO_MODALITY_AE}, each study assessed after ${config.DICOM_STUDY_QUIET_MS} ms of quiet`,
    );
  }
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
    const u = rng.next();
    if (options.feed === 'dimse' && dicom) {
      const radiograph = radiographs.shift();
      if (!radiograph) return;
      void pushRadiograph({ host: '127.0.0.1', port: dicom.port }, radiograph, radiographs.length).catch(
        (err: unknown) => {
          // A push cut off by Ctrl-C or --stop-after is not an error worth printing.
          if (!stopped) console.error(`could not push a radiograph: ${(err as Error).message}`);
        },
      );
      return;
    }
    if (options.feed === 'hl7v2' && mllp) {
      void sendLab(ehr, { host: '127.0.0.1', port: mllp.port }, patientId, u).catch((err: unknown) => {
        console.error(`could not send an ORU^R01: ${(err as Error).message}`);
      });
      return;
    }
    void ehr.createResource<Observation>(vitalSign(patientId, u)).catch((err: unknown) => {
      console.error(`could not write a vital sign: ${(err as Error).message}`);
    });
  }, options.intervalMs);

  // Issue #20: the AI-drafted descriptions the server writes (preliminary DiagnosticReports with
  // the AIAST label), each printed once, until a clinician accepts or rejects it in the review app.
  const draftsSeen = new Set<string>();
  const printNewDrafts = async (): Promise<void> => {
    const reports = (await ehr.searchResources('DiagnosticReport', {
      status: 'preliminary',
      _count: '200',
    })) as DiagnosticReport[];
    for (const report of reports) {
      const aiDraft = report.meta?.security?.some((c) => c.system === AIAST.system && c.code === AIAST.code);
      if (!aiDraft || !report.id || draftsSeen.has(report.id)) continue;
      draftsSeen.add(report.id);
      const text = (report.conclusion ?? '').replace(/\s+/g, ' ');
      console.log(
        `${new Date().toISOString().slice(11, 19)}  DiagnosticReport/${report.id}  preliminary AI draft (${config.DESCRIPTION_MODEL}): "${text.length > 90 ? `${text.slice(0, 90)}…` : text}"`,
      );
    }
  };

  // Issue #20: the image findings the server localised (FusionImagingFinding Observations, each
  // naming the SEG it stored in the PACS), each printed once.
  const findingsSeen = new Set<string>();
  const printNewFindings = async (): Promise<void> => {
    const observations = (await ehr.searchResources('Observation', {
      category: 'imaging',
      _count: '200',
    })) as Observation[];
    for (const o of observations) {
      if (!o.id || findingsSeen.has(o.id) || !o.meta?.profile?.includes(PROFILE_URLS.ImagingFinding))
        continue;
      findingsSeen.add(o.id);
      const seg = o.identifier?.find((i) => i.system === 'urn:dicom:uid')?.value?.replace(/^urn:oid:/, '');
      const patientId = o.subject?.reference?.replace(/^Patient\//, '');
      const launch =
        patientId && sandbox.reviewAppLaunchUrl ? sandbox.reviewAppLaunchUrl(patientId) : undefined;
      console.log(
        `${new Date().toISOString().slice(11, 19)}  Observation/${o.id}  AI imaging finding (preliminary): ${o.code?.text ?? ''}; region stored in the PACS as DICOM SEG ${seg ?? ''}`,
      );
      if (launch) console.log(`          region on the image, in the review app: ${launch}`);
    }
  };

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
          const missing =
            row.missing_modalities.length > 0 ? `  [missing: ${row.missing_modalities.join('; ')}]` : '';
          console.log(
            `${new Date().toISOString().slice(11, 19)}  ${row.risk_assessment_ref}  ${row.model_name}@${row.model_version} (${row.execution_provider})  ${predictions}${missing}`,
          );
        }
        if (options.stopAfter !== undefined && written >= options.stopAfter) resolveDone();
      })
      .then(() => (config.DESCRIPTION_MODEL === 'off' ? undefined : printNewDrafts()))
      .then(() => printNewFindings())
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

let controlIds = 0;

/**
 * A lab system's result for one patient (a leukocyte count or a CRP, synthetic), sent as ORU^R01
 * over MLLP with the patient's MRN in PID-3; prints the ACK code.
 */
async function sendLab(
  ehr: ReturnType<typeof createEhrClient>,
  target: { host: string; port: number },
  patientId: string,
  u: number,
): Promise<void> {
  const patient = await ehr.readResource('Patient', patientId);
  const identifier = patient.identifier?.[0];
  if (!identifier) return;
  const wbc = u < 0.5;
  const observation: Observation = {
    resourceType: 'Observation',
    status: 'final',
    code: wbc
      ? {
          coding: [
            {
              system: 'http://loinc.org',
              code: '6690-2',
              display: 'Leukocytes [#/volume] in Blood by Automated count',
            },
          ],
        }
      : {
          coding: [
            {
              system: 'http://loinc.org',
              code: '1988-5',
              display: 'C reactive protein [Mass/volume] in Serum or Plasma',
            },
          ],
        },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: wbc
      ? {
          value: Math.round((4 + u * 30) * 10) / 10,
          unit: '10*3/uL',
          system: 'http://unitsofmeasure.org',
          code: '10*3/uL',
        }
      : { value: Math.round(u * 300), unit: 'mg/L', system: 'http://unitsofmeasure.org', code: 'mg/L' },
  };
  const controlId = `DEMO-${process.pid}-${++controlIds}`;
  const [ack] = await sendOverMllp(target, [
    renderOruR01({ controlId, patientIdentifier: identifier, observations: [observation] }),
  ]);
  console.log(`${new Date().toISOString().slice(11, 19)}  ORU^R01 ${controlId} → ACK ${ack?.code ?? '?'}`);
}

/**
 * A modality's push: one cohort chest radiograph over a DICOM association (C-STORE), as the
 * sandbox's SCU sends it; prints the C-STORE status (0000 Success once the PACS holds it).
 */
async function pushRadiograph(
  target: { host: string; port: number },
  radiograph: HeldRadiograph,
  left: number,
): Promise<void> {
  const [outcome] = await storeOverDimse(
    { ...target, callingAeTitle: DEMO_MODALITY_AE, calledAeTitle: DEMO_SCP_AE },
    [radiograph.bytes],
  );
  const status = outcome ? outcome.status.toString(16).padStart(4, '0').toUpperCase() : '?';
  const meaning = outcome?.status === 0 ? 'Success' : (outcome?.comment ?? 'refused');
  console.log(
    `${new Date().toISOString().slice(11, 19)}  C-STORE chest radiograph of Patient/${radiograph.patientId} → ${status} ${meaning}${left === 0 ? '  (the last one)' : ''}`,
  );
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
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'vital-signs',
            display: 'Vital Signs',
          },
        ],
      },
    ],
    code: heartRate
      ? { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] }
      : {
          coding: [
            {
              system: 'http://loinc.org',
              code: '59408-5',
              display: 'Oxygen saturation in Arterial blood by Pulse oximetry',
            },
          ],
        },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: heartRate
      ? { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' }
      : { value, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
  };
}
