import type { ImagingStudy, Patient, Resource, RiskAssessment } from '@medplum/fhirtypes';
import dimse from 'dcmjs-dimse';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateCohort } from '../../../src/sandbox/cohort/generate-patient.js';
import type { GeneratedPatient } from '../../../src/sandbox/cohort/generate-patient.js';
import { createDicomStore } from '../../../src/sandbox/dicomweb/dicom-store.js';
import { dicomwebPlugin } from '../../../src/sandbox/dicomweb/dicomweb-plugin.js';
import { pollUntil, useFusionFixture } from '../../helpers/fusion-fixture.js';
import { startOrthanc } from '../../helpers/orthanc.js';
import type { RunningOrthanc } from '../../helpers/orthanc.js';
import { findOrthanc, needsPeer } from '../../helpers/peers.js';

import { SEGMENTATION_SOP_CLASS_UID } from '../../../src/writeback/build-segmentation.js';

/**
 * Instances the modality sent that the PACS holds: without the DICOM SEGs the
 * image model's finding localiser stores there after its assessment (issue 20), which arrive on
 * their own schedule.
 */
function receivedImages(store: { all(): Array<{ sopClassUid: string }> }): number {
  return store.all().filter((i) => i.sopClassUid !== SEGMENTATION_SOP_CLASS_UID).length;
}

/**
 * The DICOM DIMSE door over real associations. Orthanc (a real, independent DICOM node) is the
 * SCU: it holds a synthetic cohort radiograph (reference models trained on synthetic data) and
 * pushes it with C-STORE to fhir-fusion's SCP, which stores it by STOW-RS in the PACS (the
 * sandbox's DICOMweb server) before answering, and once the study is quiet creates its
 * ImagingStudy and assesses the patient. dcmjs-dimse's Client plays the SCUs Orthanc cannot
 * (an unknown calling AE title, a non-image SOP class, an unsupported transfer syntax).
 */
const { Client, Dataset, constants, requests } = dimse;
const ORTHANC_AE = 'FHIRFUSIONTEST'; // test/helpers/orthanc.ts
const OUR_AE = 'FUSIONSCP';
const orthancPeer = findOrthanc();

const pacsStore = createDicomStore();
const pacs = Fastify({ logger: false });
let pacsUrl = '';
let patient: GeneratedPatient;

beforeAll(async () => {
  await pacs.register(dicomwebPlugin, { prefix: '/dicomweb', store: pacsStore });
  pacsUrl = `${await pacs.listen({ port: 0, host: '127.0.0.1' })}/dicomweb`;
}, 60_000);
afterAll(async () => {
  await pacs.close();
});

const fixture = useFusionFixture({
  // No FHIR subscriptions: the assessment can only come from the DIMSE door.
  subscribe: false,
  config: () => ({
    DICOM_PORT: '0',
    DICOM_AE_TITLE: OUR_AE,
    DICOM_ALLOWED_CALLING_AE_TITLES: `${ORTHANC_AE},DCMJSSCU`,
    DICOM_STUDY_QUIET_MS: '300',
    DICOMWEB_BASE_URL: pacsUrl,
  }),
  seed: async (client) => {
    [patient] = [
      ...generateCohort({
        patients: 1,
        // A patient whose radiograph the image out-of-distribution detector accepts (it refuses
        // about 1 % of in-distribution images by design; seed 2121's scored 5.4 over 5.0).
        seed: 2_122,
        now: new Date(),
        dicomwebBaseUrl: pacsUrl,
        imageSize: 128,
        rates: { image: 0, ecg: 1, report: 1, dataError: 0 },
      }),
    ] as [GeneratedPatient];
    // The EHR has the patient and their data but no ImagingStudy: the radiograph arrives by DIMSE.
    for (const resource of patient.resources) {
      if (resource.resourceType === 'ImagingStudy') continue;
      await client.updateResource(resource as Resource & { id: string });
    }
  },
});

/** One association from dcmjs-dimse's Client; resolves with what happened. */
function associate(
  port: number,
  callingAe: string,
  request: InstanceType<typeof requests.Request>,
): Promise<{ rejected: boolean; status?: number; comment?: string }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let outcome: { rejected: boolean; status?: number; comment?: string } = { rejected: false };
    request.on('response', (response: InstanceType<typeof dimse.responses.Response>) => {
      outcome = { rejected: false, status: response.getStatus(), comment: response.getErrorComment() };
    });
    client.on('associationRejected', () => {
      outcome = { rejected: true };
    });
    client.on('closed', () => resolve(outcome));
    client.on('networkError', (e: Error) => reject(e));
    client.addRequest(request);
    client.send('127.0.0.1', port, callingAe, OUR_AE);
  });
}

describe('DICOM DIMSE door: C-STORE from Orthanc → STOW-RS → ImagingStudy → RiskAssessment', () => {
  let orthanc: RunningOrthanc | undefined;
  let port = 0;
  beforeAll(() => {
    port = fixture().server.server.dimse?.port ?? 0;
    expect(port).toBeGreaterThan(0);
  });
  afterAll(async () => {
    await orthanc?.stop();
  });

  it('stores the pushed radiograph in the PACS before Success, then creates the ImagingStudy and assesses the patient', async (context) => {
    // Only this test needs Orthanc; the ones below play the SCU with dcmjs-dimse.
    needsPeer(context, orthancPeer);
    const { client } = fixture();
    orthanc = await startOrthanc();
    const radiograph = patient.dicom.find((d) => d.kind === 'chest-radiograph');
    if (!radiograph) throw new Error('the cohort patient has no radiograph');
    const upload = await fetch(`${orthanc.restUrl}/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/dicom' },
      body: Buffer.from(radiograph.bytes),
    });
    expect(upload.ok).toBe(true);
    const { ID } = (await upload.json()) as { ID: string };
    const modality = await fetch(`${orthanc.restUrl}/modalities/fusion`, {
      method: 'PUT',
      body: JSON.stringify({ AET: OUR_AE, Host: '127.0.0.1', Port: port }),
    });
    expect(modality.ok).toBe(true);

    const echo = await fetch(`${orthanc.restUrl}/modalities/fusion/echo`, { method: 'POST', body: '{}' });
    expect(echo.status).toBe(200);

    // No PHI in logs: everything the door logs from here on is checked below.
    const { logger } = fixture().runtime;
    const logged = [vi.spyOn(logger, 'info'), vi.spyOn(logger, 'warn')];
    expect(receivedImages(pacsStore)).toBe(0);
    const store = await fetch(`${orthanc.restUrl}/modalities/fusion/store`, {
      method: 'POST',
      body: JSON.stringify({ Resources: [ID], Synchronous: true }),
    });
    expect(store.status).toBe(200);
    // Store-before-acknowledge: Orthanc's synchronous C-STORE returned, so the PACS has it now.
    expect(
      pacsStore.find(radiograph.studyInstanceUid, radiograph.seriesInstanceUid, radiograph.sopInstanceUid),
    ).toHaveLength(1);

    const study = await pollUntil(
      async () =>
        (
          await client.searchResources('ImagingStudy', {
            identifier: `urn:dicom:uid|urn:oid:${radiograph.studyInstanceUid}`,
          })
        )[0],
      'the ImagingStudy created for the received study',
    );
    expect((study as ImagingStudy).subject?.reference).toBe(`Patient/${patient.patientId}`);
    expect(study.series?.[0]?.instance?.[0]?.uid).toBe(radiograph.sopInstanceUid);

    const assessment = await pollUntil(
      async () =>
        (await client.searchResources('RiskAssessment', { subject: `Patient/${patient.patientId}` }))[0],
      'a RiskAssessment after the DIMSE study',
      { timeoutMs: 90_000 },
    );
    const basis = ((assessment as RiskAssessment).basis ?? []).map((b) =>
      b.reference?.replace(/\/_history\/.*$/, ''),
    );
    expect(basis).toContain(`ImagingStudy/${study.id}`);
    const { rows } = await fixture().pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM notification_inbox WHERE dialect = 'dimse'",
    );
    expect(rows[0]?.n).toBe(1);
    const lines = JSON.stringify(logged.flatMap((spy) => spy.mock.calls));
    expect(lines).toContain('dicom instance received');
    expect(lines).toContain('dicom study complete');
    const person = patient.resources.find((r): r is Patient => r.resourceType === 'Patient');
    const secrets = [
      person?.identifier?.[0]?.value,
      person?.name?.[0]?.family,
      radiograph.studyInstanceUid,
      radiograph.sopInstanceUid,
      patient.patientId,
    ];
    for (const secret of secrets) {
      expect(secret).toBeTruthy();
      expect(lines).not.toContain(secret);
    }
    for (const spy of logged) spy.mockRestore();
  }, 150_000);

  it('rejects an association from a calling AE title outside the allow-list', async () => {
    const outcome = await associate(port, 'STRANGER', new requests.CEchoRequest());
    expect(outcome).toEqual({ rejected: true });
    const allowed = await associate(port, 'DCMJSSCU', new requests.CEchoRequest());
    expect(allowed).toMatchObject({ rejected: false, status: constants.Status.Success });
  });

  it('accepts a non-image SOP class and ignores it with a named reason; stores nothing', async () => {
    const before = receivedImages(pacsStore);
    const sr = new Dataset(
      {
        SOPClassUID: constants.StorageClass.BasicTextSrStorage,
        SOPInstanceUID: Dataset.generateDerivedUid(),
        StudyInstanceUID: Dataset.generateDerivedUid(),
        SeriesInstanceUID: Dataset.generateDerivedUid(),
        Modality: 'SR',
        PatientID: 'SYNTH-1',
      },
      constants.TransferSyntax.ExplicitVRLittleEndian,
    );
    const outcome = await associate(port, 'DCMJSSCU', new requests.CStoreRequest(sr));
    expect(outcome).toMatchObject({
      rejected: false,
      status: constants.Status.Success,
      comment: 'ignored: not-an-image',
    });
    expect(receivedImages(pacsStore)).toBe(before);
  });
});

describe('DICOM DIMSE door: transfer syntax negotiation over a real association (PS3.8 §9.3.3.2)', () => {
  it('negotiates a context down to Explicit VR LE, rejects a context offering only JPEG 2000, and still serves the rest', async () => {
    const port = fixture().server.server.dimse?.port ?? 0;
    const { PresentationContext } = dimse.association;
    const { PresentationContextResult, SopClass, StorageClass, TransferSyntax } = constants;
    const client = new Client();
    // Proposed besides the C-ECHO's Verification context: DX in JPEG 2000 only, CR in JPEG 2000 or Explicit VR LE.
    const onlyJpeg2000 = new PresentationContext(0, StorageClass.DigitalXRayImageStorageForPresentation);
    onlyJpeg2000.addTransferSyntaxUid(TransferSyntax.Jpeg2000Lossless);
    const downToExplicit = new PresentationContext(0, StorageClass.ComputedRadiographyImageStorage);
    downToExplicit.addTransferSyntaxUid(TransferSyntax.Jpeg2000Lossless);
    downToExplicit.addTransferSyntaxUid(TransferSyntax.ExplicitVRLittleEndian);
    client.addAdditionalPresentationContext(onlyJpeg2000, true);
    client.addAdditionalPresentationContext(downToExplicit, true);
    const echo = new requests.CEchoRequest();
    let echoStatus: number | undefined;
    echo.on('response', (r: InstanceType<typeof dimse.responses.Response>) => (echoStatus = r.getStatus()));
    client.addRequest(echo);
    const results = await new Promise<Array<{ abstract: string; result: number; syntax?: string }>>(
      (resolve, reject) => {
        let seen: Array<{ abstract: string; result: number; syntax?: string }> = [];
        client.on(
          'associationAccepted',
          (association: InstanceType<typeof dimse.association.Association>) => {
            seen = association.getPresentationContexts().map(({ context }) => ({
              abstract: context.getAbstractSyntaxUid(),
              result: context.getResult(),
              ...(context.getResult() === PresentationContextResult.Accept
                ? { syntax: context.getAcceptedTransferSyntaxUid() }
                : {}),
            }));
          },
        );
        client.on('closed', () => resolve(seen));
        client.on('networkError', (e: Error) => reject(e));
        client.send('127.0.0.1', port, 'DCMJSSCU', OUR_AE);
      },
    );
    expect(results).toEqual([
      {
        abstract: SopClass.Verification,
        result: PresentationContextResult.Accept,
        syntax: expect.any(String),
      },
      {
        abstract: StorageClass.DigitalXRayImageStorageForPresentation,
        result: PresentationContextResult.RejectTransferSyntaxesNotSupported,
      },
      {
        abstract: StorageClass.ComputedRadiographyImageStorage,
        result: PresentationContextResult.Accept,
        syntax: TransferSyntax.ExplicitVRLittleEndian,
      },
    ]);
    expect(echoStatus).toBe(constants.Status.Success);
  });
});
