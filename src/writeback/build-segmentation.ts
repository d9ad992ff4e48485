import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { LocalisedAssessment } from './localised-findings.js';

/** Segmentation Storage SOP Class (PS3.4 B.5). */
export const SEGMENTATION_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.66.4';
/** Explicit VR Little Endian (PS3.5 A.2). */
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Implementation Class UID of fhir-fusion's written objects (PS3.7 D.3.3.2), a fixed 2.25 UID. */
const IMPLEMENTATION_CLASS_UID = '2.25.254316197062150838519372658474651204163';

/** The UIDs of the SEG an assessment writes; derived from its identity (a retry makes the same SEG). */
export interface SegmentationUids {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

/**
 * A `2.25` UID (PS3.5 B.2: a UUID as one decimal integer) named by `name`: the first 128 bits of
 * sha256(name) with the RFC 9562 version-8 ("custom") and variant bits set — the same name always
 * gives the same UID, so the SEG of one assessment keeps its identity across retries.
 */
export function namedDicomUid(name: string): string {
  const bytes = createHash('sha256').update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${bytes.toString('hex')}`).toString(10)}`;
}

/** The SEG's UIDs for an assessment: in the source's study, in a series and instance of its own. */
export function segmentationUids(identity: string, studyInstanceUid: string): SegmentationUids {
  return {
    studyInstanceUid,
    seriesInstanceUid: namedDicomUid(`fhir-fusion:${identity}:segmentation-series`),
    sopInstanceUid: namedDicomUid(`fhir-fusion:${identity}:segmentation-instance`),
  };
}

interface DcmjsWriter {
  data: {
    DicomMetaDictionary: {
      denaturalizeDataset(
        dataset: Record<string, unknown>,
      ): Record<string, { vr: string; Value?: unknown[] }>;
    };
    DicomDict: new (meta: Record<string, unknown>) => { dict: Record<string, unknown>; write(): ArrayBuffer };
  };
  log?: { setLevel?: (level: string) => void };
}

function loadDcmjsWriter(): DcmjsWriter {
  const dcmjs = createRequire(import.meta.url)('dcmjs') as DcmjsWriter;
  return dcmjs;
}

const code = (value: string, scheme: string, meaning: string) => ({
  CodeValue: value,
  CodingSchemeDesignator: scheme,
  CodeMeaning: meaning,
});

/** DA and TM (PS3.5 6.2) of an ISO instant, in UTC. */
function dicomDateTime(iso: string): { date: string; time: string } {
  const d = new Date(iso).toISOString();
  return { date: d.slice(0, 10).replaceAll('-', ''), time: d.slice(11, 19).replaceAll(':', '') };
}

/**
 * Packs one-byte-per-pixel masks into BINARY Segmentation pixel data (PS3.3 C.8.20.2.1, PS3.5
 * 8.1.1): one bit per pixel, the first pixel in the least significant bit, frames following each
 * other without padding, the whole padded to an even length.
 */
export function packBinaryFrames(masks: readonly Uint8Array[]): Uint8Array {
  const bits = masks.reduce((n, m) => n + m.length, 0);
  const out = new Uint8Array(Math.ceil(Math.ceil(bits / 8) / 2) * 2);
  let bit = 0;
  for (const mask of masks)
    for (let i = 0; i < mask.length; i++, bit++) if (mask[i]) out[bit >> 3]! |= 1 << (bit & 7);
  return out;
}

/** What {@link buildSegmentation} needs. */
export interface SegmentationInput {
  localised: LocalisedAssessment;
  /** The assessment identity the UIDs are derived from. */
  identity: string;
  /** Model name and version: Segment Algorithm Name and the algorithm identification. */
  algorithm: { name: string; version: string; title: string };
  /** fhir-fusion's version (Software Versions, Enhanced General Equipment C.7.5.2). */
  softwareVersion: string;
  /** When the assessment ran (Content Date/Time): the same assessment gives the same bytes. */
  contentDateTime: string;
}

/**
 * A DICOM Segmentation (PS3.3 A.51) of the localised findings over the source image, Explicit VR
 * Little Endian. BINARY rather than FRACTIONAL: the map is a class-activation map in logit units
 * whose scale is per patient, not a probability of membership (FRACTIONAL PROBABILITY would claim
 * one, C.8.20.2.3) nor a partial-volume occupancy; a region thresholded at half the map's range is
 * what it can honestly say, and every SEG-aware viewer shows BINARY. Modules:
 * - Patient and General Study copied from the source (same patient, same study); Segmentation
 *   Series (C.8.20.1, Modality SEG); Frame of Reference (C.7.4.1) = the source's when it has one;
 *   Enhanced General Equipment (C.7.5.2);
 * - Segmentation Image (C.8.20.2): one segment per finding, Segmented Property Category SCT
 *   49755003 "Morphologically abnormal structure" (CID 7150), Segmented Property Type the finding
 *   (SCT), Segment Algorithm Type AUTOMATIC with the model's name and version, and a Segmentation
 *   Algorithm Identification (family DCM 123110 "Artificial Intelligence", CID 7162);
 * - Multi-frame Functional Groups (C.7.6.16) and Dimension (C.7.6.17): one frame per segment on the
 *   source's Rows × Columns, each naming its segment and — Derivation Image functional group
 *   (C.7.6.16.2.6) — the source instance (Source Image Sequence, purpose DCM 121322 "Source image
 *   for image processing operation", derivation DCM 113076 "Segmentation");
 * - Common Instance Reference (C.12.2): Referenced Series Sequence naming the source instance.
 */
export function buildSegmentation(
  input: SegmentationInput,
  dcmjs: DcmjsWriter = loadDcmjsWriter(),
): { bytes: Uint8Array; uids: SegmentationUids } {
  const { source, geometry, findings } = input.localised;
  const uids = segmentationUids(input.identity, source.studyInstanceUid);
  const { date, time } = dicomDateTime(input.contentDateTime);
  const sourceImage = {
    ReferencedSOPClassUID: source.sopClassUid,
    ReferencedSOPInstanceUID: source.sopInstanceUid,
    PurposeOfReferenceCodeSequence: [code('121322', 'DCM', 'Source image for image processing operation')],
  };
  const algorithmName = `${input.algorithm.name} ${input.algorithm.version}`;
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SEGMENTATION_SOP_CLASS_UID,
    SOPInstanceUID: uids.sopInstanceUid,
    StudyInstanceUID: uids.studyInstanceUid,
    SeriesInstanceUID: uids.seriesInstanceUid,
    Modality: 'SEG',
    SeriesNumber: 9701,
    SeriesDescription: 'AI localisation (model attention, not a diagnosis)',
    SeriesDate: date,
    SeriesTime: time,
    ContentDate: date,
    ContentTime: time,
    InstanceNumber: 1,
    ImageType: ['DERIVED', 'PRIMARY'],
    ContentLabel: 'AI_LOCALISATION',
    ContentDescription: `Regions the model ${input.algorithm.title} attended to; trained on synthetic data`,
    ContentCreatorName: '',
    Manufacturer: 'fhir-fusion',
    ManufacturerModelName: input.algorithm.name,
    DeviceSerialNumber: input.algorithm.version,
    SoftwareVersions: input.softwareVersion,
    ...(source.frameOfReferenceUid
      ? { FrameOfReferenceUID: source.frameOfReferenceUid, PositionReferenceIndicator: '' }
      : {}),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    PixelRepresentation: 0,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    LossyImageCompression: '00',
    Rows: geometry.sourceHeight,
    Columns: geometry.sourceWidth,
    NumberOfFrames: findings.length,
    SegmentationType: 'BINARY',
    SegmentSequence: findings.map((f) => ({
      SegmentNumber: f.segmentNumber,
      SegmentLabel: f.finding.display,
      SegmentDescription: f.outcome
        ? `Model attention for ${f.outcome.display} (not a diagnosis)`
        : `Region where the model located ${f.finding.display} (not a diagnosis)`,
      SegmentedPropertyCategoryCodeSequence: [code('49755003', 'SCT', 'Morphologically abnormal structure')],
      SegmentedPropertyTypeCodeSequence: [code(f.finding.code, 'SCT', f.finding.display)],
      SegmentAlgorithmType: 'AUTOMATIC',
      SegmentAlgorithmName: algorithmName,
      SegmentationAlgorithmIdentificationSequence: [
        {
          AlgorithmFamilyCodeSequence: [code('123110', 'DCM', 'Artificial Intelligence')],
          AlgorithmName: input.algorithm.name,
          AlgorithmVersion: input.algorithm.version,
        },
      ],
    })),
    DimensionOrganizationSequence: [
      { DimensionOrganizationUID: namedDicomUid(`fhir-fusion:${input.identity}:dimensions`) },
    ],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: namedDicomUid(`fhir-fusion:${input.identity}:dimensions`),
        // Referenced Segment Number (0062,000B) within Segment Identification Sequence (0062,000A).
        DimensionIndexPointer: 0x0062000b,
        FunctionalGroupPointer: 0x0062000a,
        DimensionDescriptionLabel: 'ReferencedSegmentNumber',
      },
    ],
    SharedFunctionalGroupsSequence: [
      {
        DerivationImageSequence: [
          {
            SourceImageSequence: [sourceImage],
            DerivationCodeSequence: [code('113076', 'DCM', 'Segmentation')],
          },
        ],
      },
    ],
    PerFrameFunctionalGroupsSequence: findings.map((f) => ({
      FrameContentSequence: [{ DimensionIndexValues: [f.segmentNumber] }],
      SegmentIdentificationSequence: [{ ReferencedSegmentNumber: f.segmentNumber }],
    })),
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: source.seriesInstanceUid,
        ReferencedInstanceSequence: [
          { ReferencedSOPClassUID: source.sopClassUid, ReferencedSOPInstanceUID: source.sopInstanceUid },
        ],
      },
    ],
  };
  const pixels = packBinaryFrames(findings.map((f) => f.mask));
  dataset.PixelData = pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength);
  dataset._vrMap = { PixelData: 'OB' };
  const { DicomMetaDictionary, DicomDict } = dcmjs.data;
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: SEGMENTATION_SOP_CLASS_UID,
    MediaStorageSOPInstanceUID: uids.sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: 'FHIRFUSION_010',
  });
  const dict = new DicomDict(meta);
  // The source's own Patient and General Study elements, as read (PN, DA, TM values untouched).
  dict.dict = {
    ...DicomMetaDictionary.denaturalizeDataset(dataset),
    ...source.studyElements,
    '00080005': { vr: 'CS', Value: ['ISO_IR 192'] },
  };
  return { bytes: new Uint8Array(dict.write()), uids };
}
