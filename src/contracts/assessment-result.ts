import type { VersionedReference } from './patient-record.js';
import type { MissingModality, } from './patient-record.js';
import type { ModalityName, QualitativeThreshold } from './manifest-types.js';

/** One outcome's prediction. */
export interface OutcomePrediction {
  /** Index into `manifest.outcomes`. */
  outcomeIndex: number;
  /** Calibrated probability in [0, 1]. */
  probability: number;
  qualitativeRisk: QualitativeThreshold['code'];
}

/** Per-modality contribution: probability with everything minus probability with that modality masked out. */
export interface ModalityContribution {
  modality: ModalityName;
  /** Per outcome, aligned with `predictions`. */
  delta: number[];
}

/** A tabular feature that moved the result, with the value it had (in the feature's canonical unit). */
export interface FeatureContribution {
  feature: string;
  value: number;
  unit: string;
  /** Per outcome, probability change when this feature is masked out. */
  delta: number[];
}

/** What the inference engine returns for one patient. */
export interface InferenceOutput {
  predictions: OutcomePrediction[];
  modalityContributions: ModalityContribution[];
  featureContributions: FeatureContribution[];
  /** The ONNX Runtime execution provider that ran it (`cpu`, `cuda`). */
  executionProvider: string;
}

/** Everything the write-back needs to record one assessment. */
export interface AssessmentResult extends InferenceOutput {
  modelName: string;
  modelVersion: string;
  /** sha256 of model.onnx, for the Device and Provenance. */
  modelSha256: string;
  patientId: string;
  /** Every input resource version used (becomes `basis` and Provenance entities). */
  basis: VersionedReference[];
  missing: Array<{ modality: ModalityName } & MissingModality>;
  /** When inference ran (RiskAssessment.occurrenceDateTime, Provenance.recorded). */
  occurredAt: string;
  /** Trace id carried from the notification, for logs and Provenance. */
  traceId: string;
}
