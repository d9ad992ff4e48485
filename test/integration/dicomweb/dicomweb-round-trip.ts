import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { buildMultipartRelated, parseMultipartRelated } from '../../../src/fhir/multipart-related.js';
import { thirdPartyFixture } from '../../helpers/fixtures.js';
import { generateDicom } from '../../unit/sandbox/dicomweb/generated-dicom.js';

/** A raw HTTP exchange against a DICOMweb service root. */
export interface DicomwebHttp {
  (request: {
    method: 'GET' | 'POST';
    path: string;
    headers?: Record<string, string>;
    body?: Buffer;
  }): Promise<{
    status: number;
    headers: Record<string, string>;
    body: Buffer;
  }>;
}

/** DICOM JSON object as returned by QIDO/metadata. */
type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

function uid(dataset: DicomJson | undefined, tag: string): string | undefined {
  const value = dataset?.[tag]?.Value?.[0];
  return typeof value === 'string' ? value : undefined;
}

/**
 * STOW → QIDO → WADO round trip that any conformant DICOMweb origin server passes: the real JPEG
 * 2000 CR from the third-party fixtures and a generated 3-frame native instance, stored in one request,
 * found by PatientID / StudyInstanceUID / Modality, retrieved byte for byte, frames included.
 */
export async function runDicomwebRoundTrip(http: DicomwebHttp, suffix: string): Promise<void> {
  const realCr = readFileSync(thirdPartyFixture('dicom', 'RG1_J2KI.dcm'));
  const realStudy = '1.3.6.1.4.1.5962.1.2.9.20040826185059.5457';
  const generated = generateDicom({
    studyInstanceUid: `2.25.1000${suffix}`,
    seriesInstanceUid: `2.25.1000${suffix}.1`,
    sopInstanceUid: `2.25.1000${suffix}.1.1`,
    patientId: `RT-${suffix}`,
    modality: 'OT',
  });
  const { body, contentType } = buildMultipartRelated(
    [
      { contentType: 'application/dicom', body: realCr },
      { contentType: 'application/dicom', body: generated.bytes },
    ],
    'application/dicom',
  );
  const stow = await http({
    method: 'POST',
    path: '/studies',
    headers: { 'content-type': contentType, accept: 'application/dicom+json' },
    body,
  });
  expect(stow.status).toBe(200);
  const stowJson = JSON.parse(stow.body.toString()) as DicomJson;
  expect(stowJson['00081199']?.Value).toHaveLength(2);
  expect(stowJson['00081198']?.Value ?? []).toHaveLength(0);

  // QIDO-RS: by PatientID (keyword), then by tag, then study-scoped series and instances.
  const studies = JSON.parse(
    (
      await http({
        method: 'GET',
        path: `/studies?PatientID=RT-${suffix}`,
        headers: { accept: 'application/dicom+json' },
      })
    ).body.toString(),
  ) as DicomJson[];
  expect(studies).toHaveLength(1);
  expect(uid(studies[0], '0020000D')).toBe(generated.studyInstanceUid);

  const crStudies = JSON.parse(
    (
      await http({
        method: 'GET',
        path: `/studies?0020000D=${realStudy}`,
        headers: { accept: 'application/dicom+json' },
      })
    ).body.toString(),
  ) as DicomJson[];
  expect(crStudies).toHaveLength(1);
  expect(crStudies[0]?.['00080061']?.Value).toContain('CR');

  const series = JSON.parse(
    (
      await http({
        method: 'GET',
        path: `/studies/${realStudy}/series?Modality=CR`,
        headers: { accept: 'application/dicom+json' },
      })
    ).body.toString(),
  ) as DicomJson[];
  expect(series).toHaveLength(1);
  const seriesUid = uid(series[0], '0020000E') as string;
  const noSeries = JSON.parse(
    (
      await http({
        method: 'GET',
        path: `/studies/${realStudy}/series?Modality=MR`,
        headers: { accept: 'application/dicom+json' },
      })
    ).body.toString(),
  ) as DicomJson[];
  expect(noSeries).toHaveLength(0);

  const instances = JSON.parse(
    (
      await http({
        method: 'GET',
        path: `/studies/${realStudy}/series/${seriesUid}/instances`,
        headers: { accept: 'application/dicom+json' },
      })
    ).body.toString(),
  ) as DicomJson[];
  expect(instances).toHaveLength(1);
  const sopUid = uid(instances[0], '00080018') as string;

  // WADO-RS instance retrieve in the stored transfer syntax: identical bytes.
  const retrieved = await http({
    method: 'GET',
    path: `/studies/${realStudy}/series/${seriesUid}/instances/${sopUid}`,
    headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
  });
  expect(retrieved.status).toBe(200);
  const parts = parseMultipartRelated(retrieved.body, retrieved.headers['content-type'] ?? '');
  expect(parts).toHaveLength(1);
  expect(parts[0]?.body.equals(realCr)).toBe(true);

  // Study-level retrieve of the generated study.
  const studyRetrieve = await http({
    method: 'GET',
    path: `/studies/${generated.studyInstanceUid}`,
    headers: { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
  });
  const studyParts = parseMultipartRelated(studyRetrieve.body, studyRetrieve.headers['content-type'] ?? '');
  expect(studyParts.map((p) => p.body.equals(generated.bytes))).toEqual([true]);

  // Metadata.
  const metadata = JSON.parse(
    (
      await http({
        method: 'GET',
        path: `/studies/${generated.studyInstanceUid}/series/${generated.seriesInstanceUid}/instances/${generated.sopInstanceUid}/metadata`,
        headers: { accept: 'application/dicom+json' },
      })
    ).body.toString(),
  ) as DicomJson[];
  expect(metadata).toHaveLength(1);
  expect(uid(metadata[0], '00080018')).toBe(generated.sopInstanceUid);
  expect(metadata[0]?.['00280008']?.Value?.map(Number)).toEqual([3]);

  // Frames 3 and 1 of the native instance, uncompressed.
  const frames = await http({
    method: 'GET',
    path: `/studies/${generated.studyInstanceUid}/series/${generated.seriesInstanceUid}/instances/${generated.sopInstanceUid}/frames/3,1`,
    headers: { accept: 'multipart/related; type="application/octet-stream"; transfer-syntax=*' },
  });
  expect(frames.status).toBe(200);
  const frameParts = parseMultipartRelated(frames.body, frames.headers['content-type'] ?? '');
  expect(frameParts).toHaveLength(2);
  expect(frameParts[0]?.body.equals(generated.frames[2] as Buffer)).toBe(true);
  expect(frameParts[1]?.body.equals(generated.frames[0] as Buffer)).toBe(true);
}
