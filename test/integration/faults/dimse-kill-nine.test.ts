import type { Resource, RiskAssessment } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { ASSESS_QUEUE } from '../../../src/jobs/assess-queue.js';
import type { GeneratedPatient } from '../../../src/sandbox/cohort/generate-patient.js';
import { generateCohort } from '../../../src/sandbox/cohort/generate-patient.js';
import { createDicomStore } from '../../../src/sandbox/dicomweb/dicom-store.js';
import { dicomwebPlugin } from '../../../src/sandbox/dicomweb/dicomweb-plugin.js';
import { storeOverDimse } from '../../../src/sandbox/dimse/cstore-scu.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { freePorts } from '../../helpers/free-port.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import type { ChildServer } from './child-server.js';
import { startChildServer } from './child-server.js';
import { pollUntil } from '../../helpers/fusion-fixture.js';

import { SEGMENTATION_SOP_CLASS_UID } from '../../../src/writeback/build-segmentation.js';

/**
 * Instances the modality sent that the PACS holds: without the DICOM SEGs the
 * image model's finding localiser stores there after its assessment (issue 20), which arrive on
 * their own schedule.
 */
function receivedImages(store: { all(): Array<{ sopClassUid: string }> }): number {
  return store.all().filter((i) => i.sopClassUid !== SEGMENTATION_SOP_CLASS_UID).length;
}

const SUCCESS = 0x0000;
const SCU_AE = 'SANDBOXMOD';
const SCP_AE = 'FUSIONSCP';

/** {@link pollUntil} with this file's bound on a hang. */
function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
  return pollUntil(probe, what, { timeoutMs, intervalMs: 250 });
}

/**
 * The DICOM DIMSE door's crash windows, with fhir-fusion as a child process (`serve`, intake and
 * worker), the sandbox EHR + PACS (DICOMweb) beside it, and the sandbox's C-STORE SCU
 * (dcmjs-dimse `Client`, a real association) pushing synthetic cohort radiographs (reference
 * models trained on synthetic data):
 * 1. SIGKILL while the PACS answers the STOW-RS request, i.e. after the instance is stored and
 *    before the C-STORE response. The SCU got no response and resends after the restart; the
 *    duplicate (same SOP Instance UID) is stored once and assessed once.
 * 2. SIGKILL after the C-STORE Success, inside the study's quiet period. Nothing is resent; the
 *    restarted process finds the study recorded in Postgres and hands it over exactly once.
 */
describe('DICOM DIMSE: kill -9 between receipt and C-STORE response, and inside the quiet period', () => {
  let db: TestDatabase;
  let ehr: SandboxEhr;
  let pool: pg.Pool;
  let child: ChildServer | undefined;
  let env: Record<string, string>;
  let httpPort: number;
  let dicomPort: number;
  const pacs = createDicomStore();
  let patients: GeneratedPatient[];
  let killDuringStow = false;
  let killed = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    ehr = await createSandboxEhr({ logger: false });
    await ehr.app.register(dicomwebPlugin, { prefix: '/dicomweb', store: pacs });
    // When armed: the PACS has stored the instance; kill fhir-fusion before it hears so.
    ehr.app.addHook('onSend', async (request, _reply, payload) => {
      if (
        killDuringStow &&
        request.method === 'POST' &&
        request.url.startsWith('/dicomweb/studies') &&
        child
      ) {
        killDuringStow = false;
        // Counted first: the SCU sees the connection drop before kill9() has seen the exit.
        killed++;
        await child.kill9();
      }
      return payload;
    });
    const fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
    const dicomwebBaseUrl = `${new URL(fhirBaseUrl).origin}/dicomweb`;
    patients = [
      ...generateCohort({
        patients: 2,
        seed: 2_109,
        now: new Date(),
        dicomwebBaseUrl,
        imageSize: 128,
        rates: { image: 0, ecg: 1, report: 1, dataError: 0 },
      }),
    ];
    // The EHR has the patients but no ImagingStudy: their radiographs arrive by DIMSE.
    const client = createEhrClient({ fhirBaseUrl, fetch });
    for (const patient of patients) {
      for (const resource of patient.resources) {
        if (resource.resourceType === 'ImagingStudy') continue;
        await client.updateResource(resource as Resource & { id: string });
      }
    }
    [httpPort, dicomPort] = (await freePorts(2)) as [number, number];
    env = {
      DATABASE_URL: db.url,
      FHIR_BASE_URL: fhirBaseUrl,
      DICOMWEB_BASE_URL: dicomwebBaseUrl,
      DICOM_PORT: String(dicomPort),
      DICOM_AE_TITLE: SCP_AE,
      DICOM_ALLOWED_CALLING_AE_TITLES: SCU_AE,
      // Long enough that the kill in case 2 lands inside it.
      DICOM_STUDY_QUIET_MS: '4000',
      COALESCE_WINDOW_MS: '0',
      JOB_RETRY_DELAY_S: '1',
      // The image model: its assessment needs the radiograph the door stored in the PACS.
      ACTIVE_MODELS: 'image-cnn@1',
    };
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  }, 180_000);

  afterAll(async () => {
    await child?.stop();
    await pool?.end();
    await ehr?.close();
    await db?.drop();
  });

  const target = () => ({
    host: '127.0.0.1',
    port: dicomPort,
    callingAeTitle: SCU_AE,
    calledAeTitle: SCP_AE,
  });
  const radiographOf = (patient: GeneratedPatient) => {
    const radiograph = patient.dicom.find((d) => d.kind === 'chest-radiograph');
    if (!radiograph) throw new Error('the cohort patient has no radiograph');
    return radiograph;
  };
  const count = async (sql: string, values: unknown[] = []): Promise<number> =>
    Number((await pool.query<{ n: string }>(sql, values)).rows[0]?.n);
  const assessments = (patientId: string) =>
    createEhrClient({ fhirBaseUrl: env.FHIR_BASE_URL!, fetch }).searchResources('RiskAssessment', {
      subject: `Patient/${patientId}`,
    });
  /** Everything one study left behind, once its job has run. */
  const settled = async (patient: GeneratedPatient) => {
    const [assessment] = await waitFor(async () => {
      const found = await assessments(patient.patientId);
      return found.length > 0 ? found : undefined;
    }, 'a RiskAssessment after the DIMSE study');
    await waitFor(
      async () =>
        (await count(
          `SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND data->>'patientId' = $2 AND state <> 'completed'`,
          [ASSESS_QUEUE, patient.patientId],
        )) === 0 || undefined,
      'the job to complete',
    );
    return assessment as RiskAssessment;
  };

  it('SIGKILL after the PACS stored the instance, before the C-STORE response: the resend is stored and assessed once', async () => {
    const [patient] = patients as [GeneratedPatient];
    const radiograph = radiographOf(patient);
    child = await startChildServer(env, httpPort, 90_000);
    killDuringStow = true;
    await expect(storeOverDimse(target(), [radiograph.bytes], { attempts: 1 })).rejects.toThrow(
      /no C-STORE response/,
    );
    expect(killed).toBe(1);
    // The PACS holds it, fhir-fusion recorded nothing: the SCU still owns the instance.
    expect(
      pacs.find(radiograph.studyInstanceUid, radiograph.seriesInstanceUid, radiograph.sopInstanceUid),
    ).toHaveLength(1);
    expect(await count('SELECT count(*) AS n FROM dimse_pending_instances')).toBe(0);

    child = await startChildServer(env, httpPort, 90_000);
    const outcomes = await storeOverDimse(target(), [radiograph.bytes], { retryDelayMs: 500 });
    expect(outcomes).toEqual([{ sopInstanceUid: radiograph.sopInstanceUid, status: SUCCESS }]);

    const assessment = await settled(patient);
    expect(receivedImages(pacs)).toBe(1);
    expect(await count("SELECT count(*) AS n FROM notification_inbox WHERE dialect = 'dimse'")).toBe(1);
    expect(
      await count(`SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND data->>'patientId' = $2`, [
        ASSESS_QUEUE,
        patient.patientId,
      ]),
    ).toBe(1);
    expect(await assessments(patient.patientId)).toHaveLength(1);
    expect((assessment.basis ?? []).some((b) => b.reference?.startsWith('ImagingStudy/'))).toBe(true);
    expect(await count('SELECT count(*) AS n FROM dimse_pending_instances')).toBe(0);
  }, 300_000);

  it('SIGKILL inside the quiet period: the restarted process hands the recorded study over exactly once', async () => {
    const patient = patients[1] as GeneratedPatient;
    const radiograph = radiographOf(patient);
    const outcomes = await storeOverDimse(target(), [radiograph.bytes], { attempts: 1 });
    expect(outcomes).toEqual([{ sopInstanceUid: radiograph.sopInstanceUid, status: SUCCESS }]);
    await child?.kill9();
    // Acknowledged, recorded, not handed over: the crash came inside the quiet period.
    expect(
      await count('SELECT count(*) AS n FROM dimse_pending_instances WHERE study_instance_uid = $1', [
        radiograph.studyInstanceUid,
      ]),
    ).toBe(1);
    expect(await count("SELECT count(*) AS n FROM notification_inbox WHERE dialect = 'dimse'")).toBe(1);

    child = await startChildServer(env, httpPort, 90_000);
    await settled(patient);
    expect(await count("SELECT count(*) AS n FROM notification_inbox WHERE dialect = 'dimse'")).toBe(2);
    expect(
      await count(`SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND data->>'patientId' = $2`, [
        ASSESS_QUEUE,
        patient.patientId,
      ]),
    ).toBe(1);
    expect(await assessments(patient.patientId)).toHaveLength(1);
    expect(await count('SELECT count(*) AS n FROM dimse_pending_instances')).toBe(0);
    expect(receivedImages(pacs)).toBe(2);
  }, 300_000);
});
