/** What the DIMSE door keeps of one stored instance until its study is complete (never logged). */
export interface ReceivedInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
  modality: string;
  /** Patient ID (0010,0020) and Issuer of Patient ID (0010,0021). */
  patientId: string;
  issuerOfPatientId: string;
  /** Study Date/Time (0008,0020/0030), DICOM DA/TM. */
  studyDate: string;
  studyTime: string;
  studyDescription: string;
}

/**
 * Image Storage SOP classes this door takes as images (PS3.4 Annex B.5): CR, DX (for
 * presentation and processing), secondary capture. Every other storage class is accepted and
 * ignored (the models read radiographs only).
 */
export const IMAGE_SOP_CLASSES: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.1.1.1', // Computed Radiography Image Storage
  '1.2.840.10008.5.1.4.1.1.1.1', // Digital X-Ray Image Storage - For Presentation
  '1.2.840.10008.5.1.4.1.1.1.1.1', // Digital X-Ray Image Storage - For Processing
  '1.2.840.10008.5.1.4.1.1.7', // Secondary Capture Image Storage
]);

/**
 * Transfer syntaxes accepted in negotiation (PS3.5 Annex A): the uncompressed ones and RLE
 * Lossless, which assembly decodes. Others (JPEG, JPEG 2000, …) are rejected per presentation
 * context (transfer-syntaxes-not-supported), so the SCU can fall back to one of these.
 */
export const ACCEPTED_TRANSFER_SYNTAXES: readonly string[] = [
  '1.2.840.10008.1.2.1', // Explicit VR Little Endian
  '1.2.840.10008.1.2', // Implicit VR Little Endian
  '1.2.840.10008.1.2.5', // RLE Lossless
];

/** The DICOM `urn:dicom:uid` identifier of a study as R4 ImagingStudy carries it (§4.2.14 notes). */
export function studyIdentifierValue(studyInstanceUid: string): string {
  return `urn:oid:${studyInstanceUid}`;
}
