import type { DiagnosticReport, ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import type { ModalityName } from './manifest-types.js';

/** A reference to exactly one version of a FHIR resource that an assessment used. */
export interface VersionedReference {
  resourceType: string;
  id: string;
  versionId?: string;
}

/** Why a modality could not be used. Named in the RiskAssessment so clinicians see what was missing. */
export type MissingReason =
  | 'none-in-window'
  | 'fetch-failed'
  | 'unsupported-format'
  | 'failed-to-decode'
  | 'not-allowed'
  | 'invalid-value'
  /** Valid input, but not what the model was built for (wrong body part, 3 leads for a 12-lead model, implausible amplitude). */
  | 'outside-input-contract'
  /** Passes the input contract, but its tensor is unlike the training data (score above the manifest's calibrated threshold). */
  | 'out-of-distribution';

/** A modality that is absent, with the reason and a human-readable detail free of patient data. */
export interface MissingModality {
  status: 'missing';
  reason: MissingReason;
  detail: string;
}

/** A modality that is present, with the resources it was built from. */
export interface PresentModality<T> {
  status: 'present';
  data: T;
  sources: VersionedReference[];
}

/** Either the modality's data or why it is missing. */
export type ModalityResult<T> = PresentModality<T> | MissingModality;

/** Raw DICOM bytes of one instance fetched over WADO-RS, with where it came from. */
export interface FetchedDicomInstance {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  bytes: Uint8Array;
  /** The DICOMweb base it was retrieved from: where results about it are stored (issue #20). */
  dicomwebBaseUrl?: string;
}

/**
 * Everything assembled for one patient at one point in time, before preprocessing.
 * Built by `src/assembly/`; consumed by `src/preprocess/`.
 */
export interface PatientRecord {
  patient: Patient;
  /** The instant the look-back windows end at (usually now, or the triggering resource's time). */
  asOf: string;
  modalities: {
    tabular: ModalityResult<Observation[]>;
    text: ModalityResult<DiagnosticReport[]>;
    image: ModalityResult<{ study: ImagingStudy; instance: FetchedDicomInstance }>;
    ecg: ModalityResult<Observation | FetchedDicomInstance>;
  };
  /** FHIR round trips made to assemble this record (exposed as a metric). */
  roundTrips: number;
}

/** Names of modalities in a record that are missing, with reasons. */
export function missingModalities(record: PatientRecord): Array<{ modality: ModalityName } & MissingModality> {
  const out: Array<{ modality: ModalityName } & MissingModality> = [];
  for (const [modality, result] of Object.entries(record.modalities) as [ModalityName, ModalityResult<unknown>][]) {
    if (result.status === 'missing') out.push({ modality, ...result });
  }
  return out;
}
