import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMultipartRelated, parseMultipartRelated } from '../../../src/fhir/multipart-related.js';
import { dicomwebPlugin } from '../../../src/sandbox/dicomweb/dicomweb-plugin.js';
import { createDicomStore } from '../../../src/sandbox/dicomweb/dicom-store.js';
import { thirdPartyFixture } from '../../helpers/fixtures.js';
import { generateDicom } from '../../unit/sandbox/dicomweb/generated-dicom.js';
import { runDicomwebRoundTrip, type DicomwebHttp } from './dicomweb-round-trip.js';

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

describe('sandbox DICOMweb server', () => {
  let app: FastifyInstance;
  const store = createDicomStore();
  const http: DicomwebHttp = async ({ method, path, headers, body }) => {
    const response = await app.inject({
      method,
      url: `/dicomweb${path}`,
      headers,
      ...(body ? { payload: body } : {}),
    });
    return {
      status: response.statusCode,
      headers: Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k, String(v)])),
      body: response.rawPayload,
    };
  };
  const stow = (parts: Buffer[], path = '/studies') => {
    const { body, contentType } = buildMultipartRelated(
      parts.map((p) => ({ contentType: 'application/dicom', body: p })),
      'application/dicom',
    );
    return http({ method: 'POST', path, headers: { 'content-type': contentType }, body });
  };

  beforeAll(async () => {
    app = Fastify();
    await app.register(dicomwebPlugin, { prefix: '/dicomweb', store });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('passes the same STOW → QIDO → WADO round trip as Orthanc', async () => {
    await runDicomwebRoundTrip(http, '1');
    expect(store.size()).toBe(2);
  });

  it('answers frames of the JPEG 2000 CR in their compressed media type, and refuses transcoding', async () => {
    const cr = readFileSync(thirdPartyFixture('dicom', 'RG1_J2KI.dcm'));
    await stow([cr]);
    const [instance] = store.all().filter((i) => i.transferSyntaxUid === '1.2.840.10008.1.2.4.91');
    const base = `/studies/${instance?.studyInstanceUid}/series/${instance?.seriesInstanceUid}/instances/${instance?.sopInstanceUid}`;
    const frame = await http({
      method: 'GET',
      path: `${base}/frames/1`,
      headers: { accept: 'multipart/related; type="image/jp2"' },
    });
    expect(frame.status).toBe(200);
    const [part] = parseMultipartRelated(frame.body, frame.headers['content-type'] ?? '');
    expect(part?.headers['content-type']).toContain('image/jp2');
    // A JPEG 2000 codestream starts with SOC + SIZ markers (ISO/IEC 15444-1 §A.4).
    expect(part?.body.subarray(0, 4).toString('hex')).toBe('ff4fff51');

    const octet = await http({
      method: 'GET',
      path: `${base}/frames/1`,
      headers: { accept: 'multipart/related; type="application/octet-stream"' },
    });
    expect(octet.status).toBe(406);
    const explicit = await http({
      method: 'GET',
      path: base,
      headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1' },
    });
    expect(explicit.status).toBe(406);
    const outOfRange = await http({ method: 'GET', path: `${base}/frames/2`, headers: { accept: '*/*' } });
    expect(outOfRange.status).toBe(404);
    const badList = await http({ method: 'GET', path: `${base}/frames/0x1`, headers: { accept: '*/*' } });
    expect(badList.status).toBe(400);
    const badUid = await http({ method: 'GET', path: `/studies/not-a-uid/metadata` });
    expect(badUid.status).toBe(400);
    expect(JSON.parse(badUid.body.toString()).issue[0].expression).toEqual(['url.study']);

    const metadata = JSON.parse(
      (await http({ method: 'GET', path: `${base}/metadata` })).body.toString(),
    ) as Array<Record<string, { vr: string; BulkDataURI?: string }>>;
    const pixelUri = metadata[0]?.['7FE00010']?.BulkDataURI ?? '';
    expect(pixelUri).toMatch(/\/bulkdata\/7FE00010$/);
    const bulk = await http({ method: 'GET', path: pixelUri.replace(/^https?:\/\/[^/]+\/dicomweb/, '') });
    expect(bulk.status).toBe(200);
  });

  it('rejects a malformed multipart body with 400 and says why', async () => {
    const response = await http({
      method: 'POST',
      path: '/studies',
      headers: { 'content-type': 'multipart/related; type="application/dicom"; boundary=abc' },
      body: Buffer.from('--abc\r\nContent-Type: application/dicom\r\n\r\nnot closed'),
    });
    expect(response.status).toBe(400);
    const outcome = JSON.parse(response.body.toString()) as {
      issue: Array<{ diagnostics: string; expression: string[] }>;
    };
    expect(outcome.issue[0]?.diagnostics).toMatch(/closing boundary/);
    expect(outcome.issue[0]?.expression).toEqual(['body.part[0]']);

    const noBoundary = await http({
      method: 'POST',
      path: '/studies',
      headers: { 'content-type': 'multipart/related; type="application/dicom"' },
      body: Buffer.from('x'),
    });
    expect(noBoundary.status).toBe(400);
    expect(noBoundary.body.toString()).toMatch(/boundary/);

    const notMultipart = await http({
      method: 'POST',
      path: '/studies',
      headers: { 'content-type': 'application/dicom' },
      body: Buffer.from('x'),
    });
    expect(notMultipart.status).toBe(415);
  });

  it('reports per-instance failures: 409 when nothing was stored, 202 when some were', async () => {
    // A raw dataset without the Part-10 header cannot be understood (0xC000).
    const raw = readFileSync(thirdPartyFixture('dicom', 'CR-MONO1-10-chest.dcm'));
    const failed = await stow([raw]);
    expect(failed.status).toBe(409);
    const failedJson = JSON.parse(failed.body.toString()) as DicomJson;
    const item = failedJson['00081198']?.Value?.[0] as DicomJson;
    expect(item['00081197']?.Value).toEqual([0xc000]);

    const good = generateDicom({
      studyInstanceUid: '2.25.77',
      seriesInstanceUid: '2.25.77.1',
      sopInstanceUid: '2.25.77.1.1',
      patientId: 'P77',
      modality: 'DX',
    });
    const mixed = await stow([good.bytes, raw]);
    expect(mixed.status).toBe(202);

    // PS3.18 §10.5.3: an instance of another study posted to /studies/{study} fails with 0xA900.
    const wrongStudy = await stow([good.bytes], '/studies/2.25.999');
    expect(wrongStudy.status).toBe(409);
    const wrongItem = (JSON.parse(wrongStudy.body.toString()) as DicomJson)['00081198']
      ?.Value?.[0] as DicomJson;
    expect(wrongItem['00081197']?.Value).toEqual([0xa900]);
  });

  it('pages QIDO results with limit/offset and honours includefield', async () => {
    for (let i = 0; i < 3; i++) {
      const instance = generateDicom({
        studyInstanceUid: `2.25.500${i}`,
        seriesInstanceUid: `2.25.500${i}.1`,
        sopInstanceUid: `2.25.500${i}.1.1`,
        patientId: 'PAGE',
        modality: 'MR',
        studyDate: `2023010${i + 1}`,
      });
      await stow([instance.bytes]);
    }
    const page = await http({
      method: 'GET',
      path: '/studies?PatientID=PAGE&limit=2&offset=1&includefield=00180015',
    });
    const results = JSON.parse(page.body.toString()) as DicomJson[];
    expect(results.map((r) => r['0020000D']?.Value?.[0])).toEqual(['2.25.5001', '2.25.5002']);
    const first = await http({ method: 'GET', path: '/studies?PatientID=PAGE&limit=1' });
    expect(first.headers.warning).toMatch(/additional results/);
    const range = JSON.parse(
      (await http({ method: 'GET', path: '/studies?PatientID=PAGE&StudyDate=20230102-' })).body.toString(),
    ) as DicomJson[];
    expect(range).toHaveLength(2);
    const wildcard = JSON.parse(
      (await http({ method: 'GET', path: '/series?PatientID=PA*&Modality=MR' })).body.toString(),
    ) as DicomJson[];
    expect(wildcard).toHaveLength(3);
    const instances = JSON.parse(
      (
        await http({ method: 'GET', path: '/instances?PatientID=PAGE&includefield=BodyPartExamined' })
      ).body.toString(),
    ) as DicomJson[];
    expect(instances[0]?.['00180015']?.Value).toEqual(['CHEST']);

    const unknown = await http({ method: 'GET', path: '/studies?NotAnAttribute=1' });
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body.toString()).issue[0].expression).toEqual(['query.NotAnAttribute']);
    const notAcceptable = await http({
      method: 'GET',
      path: '/studies',
      headers: { accept: 'application/dicom+xml' },
    });
    expect(notAcceptable.status).toBe(406);
  });
});
