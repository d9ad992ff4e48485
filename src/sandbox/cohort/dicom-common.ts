import type { DcmjsData, NaturalizedDataset } from './dcmjs-api.js';
import { TransferSyntax, implementationClassUid } from './dcmjs-api.js';
import { writeExplicitVrLittleEndianPart10 } from './explicit-vr-writer.js';

/** Patient and study attributes shared by every instance of one patient. */
export interface DicomPatientStudy {
  patientName: string;
  patientId: string;
  issuerOfPatientId: string;
  birthDate: string;
  sex: 'male' | 'female';
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  accessionNumber: string;
  /** Acquisition instant. */
  acquired: Date;
  studyDescription: string;
}

/** DICOM DA (YYYYMMDD) and TM (HHMMSS) of an instant in UTC (PS3.5 §6.2). */
export function dicomDateTime(d: Date): { date: string; time: string } {
  const iso = d.toISOString();
  return { date: iso.slice(0, 10).replaceAll('-', ''), time: iso.slice(11, 19).replaceAll(':', '') };
}

/**
 * Patient, General Study, General Series and SOP Common module attributes (PS3.3 C.7.1.1,
 * C.7.2.1, C.7.3.1, C.12.1). Times are UTC and say so via Timezone Offset From UTC.
 */
export function patientStudyAttributes(
  p: DicomPatientStudy,
  sopClassUid: string,
  modality: string,
  seriesNumber: number,
): NaturalizedDataset {
  const { date, time } = dicomDateTime(p.acquired);
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: sopClassUid,
    SOPInstanceUID: p.sopInstanceUid,
    TimezoneOffsetFromUTC: '+0000',
    StudyDate: date,
    StudyTime: time,
    SeriesDate: date,
    SeriesTime: time,
    ContentDate: date,
    ContentTime: time,
    AccessionNumber: p.accessionNumber,
    Modality: modality,
    Manufacturer: 'fhir-fusion synthetic cohort',
    ReferringPhysicianName: '',
    StudyDescription: p.studyDescription,
    PatientName: p.patientName,
    PatientID: p.patientId,
    IssuerOfPatientID: p.issuerOfPatientId,
    PatientBirthDate: p.birthDate.replaceAll('-', ''),
    PatientSex: p.sex === 'female' ? 'F' : 'M',
    PatientIdentityRemoved: 'NO',
    StudyInstanceUID: p.studyInstanceUid,
    SeriesInstanceUID: p.seriesInstanceUid,
    StudyID: p.accessionNumber.slice(-16),
    SeriesNumber: seriesNumber,
    InstanceNumber: 1,
  };
}

/**
 * Writes a Part-10 file (PS3.10 §7.1): preamble, DICM, File Meta Information, dataset.
 * dcmjs maps keywords to tags and VRs through its PS3.6 dictionary (`denaturalizeDataset`);
 * the bytes are serialised by `writeExplicitVrLittleEndianPart10` because dcmjs' writer is too
 * slow for thousands of files. RLE Lossless encapsulates Pixel Data, one fragment per frame
 * (PS3.5 A.4.2).
 */
export function writePart10(
  dcmjs: DcmjsData,
  dataset: NaturalizedDataset,
  transferSyntaxUid: string,
): Uint8Array {
  const meta = dcmjs.DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: transferSyntaxUid,
    ImplementationClassUID: implementationClassUid,
    ImplementationVersionName: 'FHIRFUSION_010',
  });
  const body = dcmjs.DicomMetaDictionary.denaturalizeDataset(dataset);
  return writeExplicitVrLittleEndianPart10(meta, body, transferSyntaxUid === TransferSyntax.rleLossless);
}
