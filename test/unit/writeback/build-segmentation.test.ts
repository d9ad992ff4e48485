import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { LocalisedAssessment } from '../../../src/writeback/localised-findings.js';
import {
  buildSegmentation,
  namedDicomUid,
  packBinaryFrames,
  SEGMENTATION_SOP_CLASS_UID,
} from '../../../src/writeback/build-segmentation.js';
import { modelImageGeometry } from '../../../src/preprocess/imaging/to-model-image.js';

const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMessage: {
      readFile(b: ArrayBuffer): { meta: Record<string, unknown>; dict: Record<string, unknown> };
    };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- naturalised DICOM is untyped; the test probes it
    DicomMetaDictionary: { naturalizeDataset(d: Record<string, unknown>): Record<string, any> };
  };
};

const W = 12;
const H = 6;
const mask = new Uint8Array(W * H);
mask[2 * W + 9] = 1;
mask[2 * W + 10] = 1;
const localised: LocalisedAssessment = {
  source: {
    studyInstanceUid: '2.25.11',
    seriesInstanceUid: '2.25.12',
    sopInstanceUid: '2.25.13',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
    frameOfReferenceUid: '2.25.14',
    frameNumber: 1,
    studyElements: {
      '00100020': { vr: 'LO', Value: ['SYN-1'] },
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Synthetic^Patient' }] },
    },
    imagingStudy: { resourceType: 'ImagingStudy', id: 'img-1', versionId: '1' },
  },
  geometry: modelImageGeometry(W, H, [8, 8]),
  findings: [
    {
      key: '0',
      outcome: { system: 'http://snomed.info/sct', code: '56675007', display: 'Acute heart failure' },
      finding: { code: '8186001', display: 'Cardiomegaly' },
      probability: 0.8,
      segmentNumber: 1,
      mask,
      marked: 2,
    },
  ],
};
const input = {
  localised,
  identity: 'abc123',
  algorithm: { name: 'image-cnn', version: '1', title: 'Chest radiograph CNN' },
  softwareVersion: 'fhir-fusion 0.1.0',
  contentDateTime: '2026-01-02T03:04:05Z',
};

/** dcmjs naturalises a one-item sequence as the item or as a one-item array, depending on the path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
const one = (v: any): any => (Array.isArray(v) ? v[0] : v);

function readBack(bytes: Uint8Array) {
  const file = dcmjs.data.DicomMessage.readFile(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  );
  return {
    meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.meta),
    ds: dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict),
  };
}

describe('DICOM Segmentation of localised findings (issue #20 point 3)', () => {
  it('is a BINARY SEG in Explicit VR Little Endian, in the source study, referencing the source instance', () => {
    const { bytes, uids } = buildSegmentation(input);
    const { meta, ds } = readBack(bytes);
    expect(meta.TransferSyntaxUID).toBe('1.2.840.10008.1.2.1');
    expect(ds.SOPClassUID).toBe(SEGMENTATION_SOP_CLASS_UID);
    expect(ds.SOPInstanceUID).toBe(uids.sopInstanceUid);
    expect(ds.StudyInstanceUID).toBe('2.25.11');
    expect(ds.SeriesInstanceUID).not.toBe('2.25.12');
    expect(ds.Modality).toBe('SEG');
    expect(ds.FrameOfReferenceUID).toBe('2.25.14');
    expect(ds.PatientID).toBe('SYN-1');
    expect(ds.SegmentationType).toBe('BINARY');
    expect([ds.Rows, ds.Columns, ds.NumberOfFrames]).toEqual([H, W, 1]);
    const segment = one(ds.SegmentSequence);
    expect(segment.SegmentAlgorithmType).toBe('AUTOMATIC');
    expect(segment.SegmentAlgorithmName).toBe('image-cnn 1');
    expect(one(segment.SegmentedPropertyCategoryCodeSequence)).toMatchObject({
      CodeValue: '49755003',
      CodingSchemeDesignator: 'SCT',
    });
    expect(one(segment.SegmentedPropertyTypeCodeSequence)).toMatchObject({
      CodeValue: '8186001',
      CodingSchemeDesignator: 'SCT',
    });
    const derivation = one(one(ds.SharedFunctionalGroupsSequence).DerivationImageSequence);
    expect(one(derivation.SourceImageSequence)).toMatchObject({
      ReferencedSOPInstanceUID: '2.25.13',
      ReferencedSOPClassUID: '1.2.840.10008.5.1.4.1.1.1.1',
    });
    const series = one(ds.ReferencedSeriesSequence);
    expect(series.SeriesInstanceUID).toBe('2.25.12');
    expect(one(series.ReferencedInstanceSequence).ReferencedSOPInstanceUID).toBe('2.25.13');
    expect(
      one(one(ds.PerFrameFunctionalGroupsSequence).SegmentIdentificationSequence).ReferencedSegmentNumber,
    ).toBe(1);
    // The two marked pixels, bit-packed LSB first: pixel 33 → byte 4 bit 1, pixel 34 → bit 2.
    const pixels = new Uint8Array(ds.PixelData[0] as ArrayBuffer);
    expect(pixels.length).toBe(10);
    expect(Array.from(pixels)).toEqual([0, 0, 0, 0, 0b110, 0, 0, 0, 0, 0]);
  });

  it('is the same SEG on a retry (UIDs and bytes from the assessment identity), another for another identity', () => {
    const a = buildSegmentation(input);
    const b = buildSegmentation(input);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    const c = buildSegmentation({ ...input, identity: 'other' });
    expect(c.uids.sopInstanceUid).not.toBe(a.uids.sopInstanceUid);
    expect(a.uids.sopInstanceUid).toMatch(/^2\.25\.\d{1,39}$/);
    expect(namedDicomUid('x')).toBe(namedDicomUid('x'));
  });

  it('packs frames contiguously, least significant bit first, padded to even length', () => {
    expect(Array.from(packBinaryFrames([Uint8Array.of(1, 0, 0), Uint8Array.of(0, 1, 1)]))).toEqual([
      0b110001, 0,
    ]);
  });
});
