import type { ImageSpec } from './to-model-image.js';
import { modelImageGeometry } from './to-model-image.js';
import type {
  AssessmentLocalisation,
  LocalisationNotMappedReason,
  SourceImageInstance,
} from '../../contracts/localisation.js';
import type { FetchedDicomInstance } from '../../contracts/patient-record.js';
import {
  loadDcmjs,
  numberAt,
  routeDcmjsLogs,
  sequenceAt,
  stringAt,
  type DcmjsModule,
  type DicomDataset,
  type LibraryMessageSink,
} from './dicom-dataset.js';
import { normaliseToPart10 } from './part10-normalise.js';

/** Tags read to place a map on the source instance (PS3.3 C.12.1, C.7.4.1, C.7.6.3, C.7.6.6, C.10.4, C.10.6, C.8.11.1). */
const Tag = {
  sopClassUid: '00080016',
  presentationIntentType: '00080068',
  frameOfReferenceUid: '00200052',
  numberOfFrames: '00280008',
  rows: '00280010',
  columns: '00280011',
  imageHorizontalFlip: '00700041',
  imageRotation: '00700042',
  displayedAreaSelectionSequence: '0070005A',
} as const;

/** Patient and General Study module tags copied into a derived object (PS3.3 C.7.1.1, C.7.2.1). */
const STUDY_TAGS = [
  '00080005', // Specific Character Set: how the copied strings were encoded
  '00100010', // Patient's Name
  '00100020', // Patient ID
  '00100021', // Issuer of Patient ID
  '00100030', // Patient's Birth Date
  '00100040', // Patient's Sex
  '00080020', // Study Date
  '00080030', // Study Time
  '00080050', // Accession Number
  '00080090', // Referring Physician's Name
  '00200010', // Study ID
] as const;

/** The maps a model produced for one image: per outcome and, with a finding localiser, per finding. */
export type ProducedMaps = Pick<AssessmentLocalisation, 'maps' | 'findingMaps'>;

function notMapped(
  produced: ProducedMaps,
  reason: LocalisationNotMappedReason,
  detail: string,
): AssessmentLocalisation {
  return { ...produced, notMapped: { reason, detail } };
}

/**
 * Why a map on the stored pixel grid of frame 1 would not overlay what a reader sees, or
 * `undefined` when it would. The SEG written for it is a 2-D pixel grid over one frame of the
 * source (PS3.3 C.8.20.2), drawn by viewers on the stored pixels:
 * - Number of Frames (0028,0008) > 1 (Multi-frame module C.7.6.6): the model read frame 1 only,
 *   and a map over one frame of a multi-frame object is not what the assessment was about;
 * - Image Rotation (0070,0042) ≠ 0 or Image Horizontal Flip (0070,0041) = Y in the instance
 *   (Spatial Transformation module C.10.6): viewers show the image turned, relative to the stored grid;
 * - a Displayed Area Selection Sequence (0070,005A) in the instance (C.10.4): viewers show a crop;
 * - Presentation Intent Type (0008,0068) FOR PROCESSING (DX Series module C.8.11.1): the image a
 *   radiologist reads is a processed derivative whose geometry this one need not share.
 */
export function notMappableBecause(
  ds: DicomDataset,
): { reason: LocalisationNotMappedReason; detail: string } | undefined {
  const frames = numberAt(ds, Tag.numberOfFrames) ?? 1;
  if (frames > 1) return { reason: 'multiframe', detail: `Number of Frames (0028,0008) is ${frames}` };
  const rotation = numberAt(ds, Tag.imageRotation) ?? 0;
  if (rotation % 360 !== 0)
    return { reason: 'rotated-or-flipped', detail: `Image Rotation (0070,0042) is ${rotation}` };
  if ((stringAt(ds, Tag.imageHorizontalFlip) ?? 'N').toUpperCase() === 'Y')
    return { reason: 'rotated-or-flipped', detail: 'Image Horizontal Flip (0070,0041) is Y' };
  if (sequenceAt(ds, Tag.displayedAreaSelectionSequence).length > 0)
    return { reason: 'cropped', detail: 'Displayed Area Selection Sequence (0070,005A) is present' };
  if ((stringAt(ds, Tag.presentationIntentType) ?? '').toUpperCase() === 'FOR PROCESSING')
    return {
      reason: 'not-for-presentation',
      detail: 'Presentation Intent Type (0008,0068) is FOR PROCESSING',
    };
  return undefined;
}

/**
 * The localisation of an assessment whose model produced maps (`produced`): the source instance's identity
 * and the {@link modelImageGeometry} its frame went through — or, for an image whose stored grid
 * is not what a reader sees ({@link notMappableBecause}) or whose header cannot be read, the maps
 * with a named reason and nothing to write. Reads the header only (stops before Pixel Data
 * (7FE0,0010)); runs only for models that emit maps, so other models pay nothing.
 */
export function localiseOnSource(
  produced: ProducedMaps,
  instance: FetchedDicomInstance,
  imagingStudy: SourceImageInstance['imagingStudy'],
  spec: Pick<ImageSpec, 'size'>,
  options: { dcmjs?: DcmjsModule; onLibraryMessage?: LibraryMessageSink; maxInflatedBytes?: number } = {},
): AssessmentLocalisation {
  const part10 = normaliseToPart10(instance.bytes, {
    maxInflatedBytes: options.maxInflatedBytes ?? 64 * 1024 * 1024,
  });
  if (!part10.ok) return notMapped(produced, 'no-source-instance', part10.detail);
  let ds: DicomDataset;
  try {
    const dcmjs = options.dcmjs ?? loadDcmjs();
    routeDcmjsLogs(dcmjs, options.onLibraryMessage ?? (() => {}));
    ds = dcmjs.data.DicomMessage.readFile(part10.value.buffer, {
      ignoreErrors: true,
      noCopy: true,
      untilTag: '7FE00010',
      includeUntilTagValue: false,
    }).dict;
  } catch {
    return notMapped(produced, 'no-source-instance', 'DICOM header could not be parsed');
  }
  const reason = notMappableBecause(ds);
  if (reason) return { ...produced, notMapped: reason };
  const sopClassUid = stringAt(ds, Tag.sopClassUid);
  const rows = numberAt(ds, Tag.rows);
  const columns = numberAt(ds, Tag.columns);
  if (!sopClassUid || !rows || !columns)
    return notMapped(
      produced,
      'no-source-instance',
      'SOP Class UID (0008,0016), Rows (0028,0010) or Columns (0028,0011) is missing',
    );
  const frameOfReferenceUid = stringAt(ds, Tag.frameOfReferenceUid);
  const studyElements: SourceImageInstance['studyElements'] = {};
  for (const tag of STUDY_TAGS) {
    const element = ds[tag];
    if (element) studyElements[tag] = { vr: element.vr, ...(element.Value ? { Value: element.Value } : {}) };
  }
  return {
    ...produced,
    source: {
      studyInstanceUid: instance.studyInstanceUid,
      seriesInstanceUid: instance.seriesInstanceUid,
      sopInstanceUid: instance.sopInstanceUid,
      sopClassUid,
      ...(frameOfReferenceUid ? { frameOfReferenceUid } : {}),
      frameNumber: 1,
      studyElements,
      ...(instance.dicomwebBaseUrl ? { dicomwebBaseUrl: instance.dicomwebBaseUrl } : {}),
      imagingStudy,
    },
    geometry: modelImageGeometry(columns, rows, spec.size),
  };
}
