import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseMultipartRelated } from '../../../src/fhir/multipart-related.js';
import { stowInstance } from '../../../src/intake/dimse/stow-instance.js';
import { dicomwebPlugin } from '../../../src/sandbox/dicomweb/dicomweb-plugin.js';
import { createDicomStore } from '../../../src/sandbox/dicomweb/dicom-store.js';
import { buildSegmentation } from '../../../src/writeback/build-segmentation.js';
import type { LocalisedAssessment } from '../../../src/writeback/localised-findings.js';
import { modelImageGeometry } from '../../../src/preprocess/imaging/to-model-image.js';
import { startOrthanc, type RunningOrthanc } from '../../helpers/orthanc.js';
import { findOrthanc, needsPeer } from '../../helpers/peers.js';
import { generateDicom } from '../../unit/sandbox/dicomweb/generated-dicom.js';

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

const first = (ds: DicomJson | undefined, tag: string): unknown => ds?.[tag]?.Value?.[0];

/**
 * Issue #20 point 4: the localisation SEG, sent with the server's own STOW-RS client to a DICOMweb
 * origin server that already holds the source image, is stored (twice without harm: a retry sends
 * the same SOP Instance) and found by QIDO in the source's study as a SEG series whose metadata
 * references the source instance; its frames come back bit for bit.
 */
async function segmentationRoundTrip(
  baseUrl: string,
  suffix: string,
): Promise<{ study: string; series: string; sop: string }> {
  const source = generateDicom({
    studyInstanceUid: `2.25.2000${suffix}`,
    seriesInstanceUid: `2.25.2000${suffix}.1`,
    sopInstanceUid: `2.25.2000${suffix}.1.1`,
    patientId: `SEG-${suffix}`,
    modality: 'OT',
    frames: 1,
  });
  expect((await stowInstance(source.bytes, source.sopInstanceUid, { baseUrl, fetch })).ok).toBe(true);
  // Two segments on the 3 × 4 source: the second frame starts at bit 12, inside a byte.
  const a = Uint8Array.of(1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0);
  const b = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1);
  const finding = (n: number, mask: Uint8Array) => ({
    key: String(n - 1),
    outcome: { system: 'http://snomed.info/sct', code: '56675007', display: 'Acute heart failure' },
    finding: { code: '8186001', display: 'Cardiomegaly' },
    probability: 0.9,
    segmentNumber: n,
    mask,
    marked: mask.reduce((s, v) => s + v, 0),
  });
  const localised: LocalisedAssessment = {
    source: {
      studyInstanceUid: source.studyInstanceUid,
      seriesInstanceUid: source.seriesInstanceUid,
      sopInstanceUid: source.sopInstanceUid,
      sopClassUid: '1.2.840.10008.5.1.4.1.1.7.2',
      frameNumber: 1,
      studyElements: {
        '00100020': { vr: 'LO', Value: [`SEG-${suffix}`] },
        '00080020': { vr: 'DA', Value: ['20240102'] },
      },
      imagingStudy: { resourceType: 'ImagingStudy', id: 'img' },
    },
    geometry: modelImageGeometry(3, 4, [8, 8]),
    findings: [finding(1, a), finding(2, b)],
  };
  const { bytes, uids } = buildSegmentation({
    localised,
    identity: `seg-round-trip-${suffix}`,
    algorithm: { name: 'image-cnn', version: '1', title: 'Chest radiograph CNN' },
    softwareVersion: 'fhir-fusion test',
    contentDateTime: '2026-01-02T03:04:05Z',
  });
  expect(await stowInstance(bytes, uids.sopInstanceUid, { baseUrl, fetch })).toEqual({ ok: true });
  // A retry after a lost answer: the same instance again is not an error, nor a second instance.
  expect(await stowInstance(bytes, uids.sopInstanceUid, { baseUrl, fetch })).toEqual({ ok: true });

  const get = async (path: string, accept = 'application/dicom+json') => {
    const r = await fetch(`${baseUrl}${path}`, { headers: { accept } });
    expect(r.status, path).toBe(200);
    return r;
  };
  const series = (await (
    await get(`/studies/${source.studyInstanceUid}/series?Modality=SEG`)
  ).json()) as DicomJson[];
  expect(series.map((s) => first(s, '0020000E'))).toEqual([uids.seriesInstanceUid]);
  const instances = (await (
    await get(`/studies/${source.studyInstanceUid}/series/${uids.seriesInstanceUid}/instances`)
  ).json()) as DicomJson[];
  expect(instances.map((i) => first(i, '00080018'))).toEqual([uids.sopInstanceUid]);
  const [metadata] = (await (
    await get(
      `/studies/${source.studyInstanceUid}/series/${uids.seriesInstanceUid}/instances/${uids.sopInstanceUid}/metadata`,
    )
  ).json()) as DicomJson[];
  expect(first(metadata, '00080016')).toBe('1.2.840.10008.5.1.4.1.1.66.4');
  expect(first(metadata, '00620001')).toBe('BINARY');
  const referencedSeries = first(metadata, '00081115') as DicomJson;
  expect(first(referencedSeries, '0020000E')).toBe(source.seriesInstanceUid);
  expect(first(first(referencedSeries, '0008114A') as DicomJson, '00081155')).toBe(source.sopInstanceUid);
  // The whole instance back, byte for byte (WADO-RS instance retrieval).
  const wado = await get(
    `/studies/${source.studyInstanceUid}/series/${uids.seriesInstanceUid}/instances/${uids.sopInstanceUid}`,
    'multipart/related; type="application/dicom"; transfer-syntax=*',
  );
  const body = Buffer.from(await wado.arrayBuffer());
  expect(body.includes(Buffer.from(bytes.subarray(132, 400)))).toBe(true);
  return { study: source.studyInstanceUid, series: uids.seriesInstanceUid, sop: uids.sopInstanceUid };
}

describe('localisation SEG over STOW-RS (issue #20)', () => {
  describe('the sandbox DICOMweb server', () => {
    let app: FastifyInstance;
    let baseUrl: string;
    beforeAll(async () => {
      app = Fastify();
      await app.register(dicomwebPlugin, { prefix: '/dicomweb', store: createDicomStore() });
      baseUrl = `${await app.listen({ host: '127.0.0.1', port: 0 })}/dicomweb`;
    });
    afterAll(async () => {
      await app?.close();
    });
    it('stores the SEG and shows it referencing the source instance; each 1-bit frame comes back on its own', async () => {
      const seg = await segmentationRoundTrip(baseUrl, '1');
      const r = await fetch(
        `${baseUrl}/studies/${seg.study}/series/${seg.series}/instances/${seg.sop}/frames/2`,
        {
          headers: { accept: 'multipart/related; type="application/octet-stream"' },
        },
      );
      expect(r.status).toBe(200);
      const [part] = parseMultipartRelated(
        Buffer.from(await r.arrayBuffer()),
        r.headers.get('content-type') ?? '',
      );
      // Segment 2 marks pixels 9–11 of 12: bits 1–3 of the frame's second byte, once shifted out.
      expect(Array.from(part!.body)).toEqual([0, 0b1110]);
    });
  });

  describe('real Orthanc', () => {
    const peer = findOrthanc();
    let orthanc: RunningOrthanc;
    beforeAll(async () => {
      if (peer.available) orthanc = await startOrthanc();
    });
    beforeEach((context) => needsPeer(context, peer));
    afterAll(async () => {
      await orthanc?.stop();
    });
    it('stores the SEG and shows it referencing the source instance', async () => {
      await segmentationRoundTrip(orthanc.dicomwebBaseUrl, '2');
    });
  });
});
