import type { Endpoint, ImagingStudy, Patient } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemblePatient } from '../../../src/assembly/assemble-patient.js';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { buildMultipartRelated } from '../../../src/fhir/multipart-related.js';
import { createAllowList, createOutboundFetch } from '../../../src/fhir/outbound-fetch.js';
import { decodeDicomImage, loadCompressedFrameDecoder, toModelImage } from '../../../src/preprocess/index.js';
import { createDcmjsReader } from '../../../src/sandbox/dicomweb/dcmjs-reader.js';
import { parsePart10Instance } from '../../../src/sandbox/dicomweb/dicom-instance.js';
import { dicomwebPlugin } from '../../../src/sandbox/dicomweb/dicomweb-plugin.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { thirdPartyFixture } from '../../helpers/fixtures.js';
import type { RunningOrthanc } from '../../helpers/orthanc.js';
import { startOrthanc } from '../../helpers/orthanc.js';
import { findOrthanc, needsPeer } from '../../helpers/peers.js';

const WIDE = { tabular: 24, text: 24, image: 24 * 30, ecg: 24 };
const chestCr = new Uint8Array(readFileSync(thirdPartyFixture('dicom', 'RG1_J2KI.dcm')));

function uids(bytes: Uint8Array): { study: string; series: string; sop: string } {
  const parsed = parsePart10Instance(Buffer.from(bytes), createDcmjsReader());
  if (!parsed.ok) throw new Error('fixture did not parse');
  return { study: parsed.value.studyInstanceUid, series: parsed.value.seriesInstanceUid, sop: parsed.value.sopInstanceUid };
}

async function stow(base: string, bytes: Uint8Array): Promise<void> {
  const { body, contentType } = buildMultipartRelated([{ contentType: 'application/dicom', body: Buffer.from(bytes) }], 'application/dicom');
  const response = await fetch(`${base}/studies`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/dicom+json' }, body: new Uint8Array(body) });
  expect(response.status).toBeLessThan(300);
}

/** Patient + Endpoint + ImagingStudy for the fixture's UIDs, pointing at `dicomwebBase`. */
async function createStudy(fhirBaseUrl: string, dicomwebBase: string): Promise<string> {
  const client = createEhrClient({ fhirBaseUrl, fetch });
  const patient = await client.createResource<Patient>({ resourceType: 'Patient', gender: 'male' });
  const endpoint = await client.createResource<Endpoint>({
    resourceType: 'Endpoint',
    status: 'active',
    connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs' },
    payloadType: [{ text: 'DICOM' }],
    address: dicomwebBase,
  });
  const u = uids(chestCr);
  await client.createResource<ImagingStudy>({
    resourceType: 'ImagingStudy',
    status: 'available',
    subject: { reference: `Patient/${patient.id}` },
    started: new Date().toISOString(),
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${u.study}` }],
    endpoint: [{ reference: `Endpoint/${endpoint.id}` }],
    series: [
      {
        uid: u.series,
        modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CR' },
        instance: [{ uid: u.sop, sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.1' } }],
      },
    ],
  });
  return patient.id ?? '';
}

describe('assembly: imaging through DICOMweb (sandbox and real Orthanc)', () => {
  let ehr: SandboxEhr;
  let fhirBaseUrl: string;
  const orthancPeer = findOrthanc();
  let orthanc: RunningOrthanc | undefined;
  let trap: Server;
  let trapHits = 0;
  let trapBase: string;

  beforeAll(async () => {
    ehr = await createSandboxEhr({ logger: false });
    await ehr.app.register(dicomwebPlugin, { prefix: '/dicomweb' });
    fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
    if (orthancPeer.available) orthanc = await startOrthanc();
    trap = createServer((_req, res) => {
      trapHits++;
      res.statusCode = 200;
      res.end();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    const address = trap.address();
    trapBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/dicomweb`;
  }, 120_000);

  afterAll(async () => {
    await ehr?.close();
    await orthanc?.stop();
    await new Promise((resolve) => trap?.close(resolve));
  });

  const peers = (): Array<[string, string]> => [
    ['the sandbox DICOMweb', `${new URL(fhirBaseUrl).origin}/dicomweb`],
    ['Orthanc', orthanc?.dicomwebBaseUrl ?? ''],
  ];

  it.for([0, 1])('retrieves the chest CR with WADO-RS (0 = sandbox DICOMweb, 1 = Orthanc: case %i) byte for byte and decodes it', async (index, context) => {
    if (index === 1) needsPeer(context, orthancPeer);
    const [name, base] = peers()[index] ?? ['', ''];
    await stow(base, chestCr);
    const patientId = await createStudy(fhirBaseUrl, base);
    const allowList = createAllowList([fhirBaseUrl, base]);
    const client = createEhrClient({ fhirBaseUrl, fetch: createOutboundFetch({ allowList, timeoutMs: 10_000 }) });
    const record = await assemblePatient(patientId, {
      client,
      windows: WIDE,
      image: { modalities: ['CR', 'DX'] },
      dicom: { fetch: createOutboundFetch({ allowList, timeoutMs: 10_000 }), allowList, maxBytes: 64 << 20 },
      asOf: new Date(),
    });
    const image = record.modalities.image;
    expect(image.status, name).toBe('present');
    if (image.status !== 'present') return;
    expect(Buffer.from(image.data.instance.bytes).equals(Buffer.from(chestCr))).toBe(true);
    // One FHIR batch for everything: Patient, Observations, reports, studies with their endpoints.
    expect(record.roundTrips).toBe(1);
    const decoded = decodeDicomImage(image.data.instance.bytes, { maxPixels: 50_000_000, codecs: await loadCompressedFrameDecoder() });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const model = toModelImage(decoded.value, { size: [64, 64], mean: 0.5, std: 0.25 });
    expect(model.dims).toEqual([1, 64, 64]);
  });

  it('never calls a DICOMweb endpoint from EHR data whose host is not allow-listed', async () => {
    const patientId = await createStudy(fhirBaseUrl, trapBase);
    const allowList = createAllowList([fhirBaseUrl]);
    const outbound = createOutboundFetch({ allowList, timeoutMs: 5_000 });
    const record = await assemblePatient(patientId, {
      client: createEhrClient({ fhirBaseUrl, fetch: outbound }),
      windows: WIDE,
      image: { modalities: ['CR'] },
      dicom: { fetch: outbound, allowList, maxBytes: 64 << 20 },
      asOf: new Date(),
    });
    expect(record.modalities.image).toMatchObject({ status: 'missing', reason: 'not-allowed' });
    expect(record.modalities.tabular).toMatchObject({ status: 'missing', reason: 'none-in-window' });
    expect(trapHits).toBe(0);
    // Even a direct attempt through the outbound fetch is refused before any byte leaves.
    await expect(outbound(`${trapBase}/studies`)).rejects.toThrow(/allow-list/);
    expect(trapHits).toBe(0);
  });
});
