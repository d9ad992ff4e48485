import type { RadiographPixels } from './chest-radiograph-pixels.js';
import type { DcmjsData } from './dcmjs-api.js';
import { TransferSyntax } from './dcmjs-api.js';
import type { DicomPatientStudy } from './dicom-common.js';
import { patientStudyAttributes, writePart10 } from './dicom-common.js';
import { encodeRleFrame } from './rle-lossless.js';

/** How the radiograph is stored: the variants a real PACS holds side by side. */
export interface RadiographEncoding {
  modality: 'DX' | 'CR';
  photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2';
  /** 12 stored bits in 16 allocated, or all 16. */
  bitsStored: 12 | 16;
  transferSyntaxUid: (typeof TransferSyntax)[keyof typeof TransferSyntax];
  viewPosition: 'PA' | 'AP';
}

/** SOP classes (PS3.4 Annex B.5): DX For Presentation and Computed Radiography. */
export const radiographSopClass = {
  DX: '1.2.840.10008.5.1.4.1.1.1.1',
  CR: '1.2.840.10008.5.1.4.1.1.1',
} as const;

/**
 * Quantises the drawn image and writes it as a DX (For Presentation) or CR Part-10 file. For
 * MONOCHROME1 the stored values are inverted (PS3.3 C.7.6.3.1.2: minimum sample value is white)
 * so that every variant displays identically.
 */
export function encodeChestRadiographDicom(
  dcmjs: DcmjsData,
  image: RadiographPixels,
  enc: RadiographEncoding,
  p: DicomPatientStudy,
): Uint8Array {
  const maxValue = enc.bitsStored === 12 ? 4095 : 65535;
  const n = image.size * image.size;
  const stored = new Uint16Array(n);
  const values = image.values;
  const invert = enc.photometricInterpretation === 'MONOCHROME1';
  for (let i = 0; i < n; i++) {
    const q = Math.round((values[i] as number) * maxValue);
    stored[i] = invert ? maxValue - q : q;
  }
  const rle = enc.transferSyntaxUid === TransferSyntax.rleLossless;
  const pixelBytes = rle
    ? encodeRleFrame(stored, 16)
    : new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength);
  const dx = enc.modality === 'DX';
  const dataset = {
    ...patientStudyAttributes(p, radiographSopClass[enc.modality], enc.modality, 1),
    ImageType: ['DERIVED', 'PRIMARY'],
    SeriesDescription: `Chest ${enc.viewPosition}`,
    BodyPartExamined: 'CHEST',
    ViewPosition: enc.viewPosition,
    // Rows run to the patient's left and columns to the feet on a PA film viewed from the front.
    PatientOrientation: ['L', 'F'],
    ImageLaterality: 'U',
    AnatomicRegionSequence: [{ CodeValue: '43799004', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Chest' }],
    ...(dx
      ? {
          PresentationIntentType: 'FOR PRESENTATION',
          ImagerPixelSpacing: [0.7, 0.7],
          DetectorType: 'SCINTILLATOR',
          BurnedInAnnotation: 'NO',
        }
      : { ImagerPixelSpacing: [0.7, 0.7] }),
    SamplesPerPixel: 1,
    PhotometricInterpretation: enc.photometricInterpretation,
    Rows: image.size,
    Columns: image.size,
    BitsAllocated: 16,
    BitsStored: enc.bitsStored,
    HighBit: enc.bitsStored - 1,
    PixelRepresentation: 0,
    PixelIntensityRelationship: 'LIN',
    PixelIntensityRelationshipSign: invert ? -1 : 1,
    RescaleIntercept: 0,
    RescaleSlope: 1,
    RescaleType: 'US',
    // PS3.3 C.8.11.6: Presentation LUT Shape matches the photometric interpretation.
    PresentationLUTShape: invert ? 'INVERSE' : 'IDENTITY',
    WindowCenter: Math.round(maxValue / 2),
    WindowWidth: maxValue,
    LossyImageCompression: '00',
    PixelData: [pixelBytes],
    _vrMap: { PixelData: rle ? 'OB' : 'OW' },
  };
  return writePart10(dcmjs, dataset, enc.transferSyntaxUid);
}
