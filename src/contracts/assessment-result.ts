import type { VersionedReference } from './patient-record.js';
import type { MissingModality } from './patient-record.js';
import type { ModalityName, QualitativeThreshold } from './manifest-types.js';
import type { AssessmentLocalisation, FindingMap, OutcomeMap } from './localisation.js';

/** One outcome's prediction. */
export interface OutcomePrediction {
  /** Index into `manifest.outcomes`. */
  outcomeIndex: number;
  /** Calibrated probability in [0, 1]. */
  probability: number;
  qualitativeRisk: QualitativeThreshold['code'];
}

/**
 * Per-modality contribution: the exact Shapley value of the modality over the 2^n coalitions of the
 * patient's present modalities (baseline: every modality masked, the model's missing-modality
 * input), so the contributions of one outcome sum to p(everything) − p(no modality).
 */
export interface ModalityContribution {
  modality: ModalityName;
  /** Per outcome, aligned with `predictions`: the Shapley value in calibrated probability units. */
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

/**
 * Why an outcome got no probability (issue #17; CodeSystem `not-assessed-reason`):
 * `too-little-information` — the model-wide minimum (`manifest.abstention.minimumInformation`) is
 * not met; `required-input-missing` — a modality the model requires was refused in preprocessing,
 * or the outcome's own `requires` rule is not met.
 */
export type NotAssessedReason = 'too-little-information' | 'required-input-missing';

/** An outcome the model abstained on: no probability, no qualitative risk, only the reason. */
export interface NotAssessedOutcome {
  /** Index into `manifest.outcomes`. */
  outcomeIndex: number;
  reason: NotAssessedReason;
  /** Plain text naming what was lacking (feature and modality names only, never patient values). */
  detail: string;
}

/**
 * Observations fetched for the patient that the model does not use (no code it maps to a feature),
 * grouped by code — said in the assessment as missing modalities are, so "nothing says so" never
 * hides a lab the model ignores.
 */
export interface UnusedInput {
  /** The Observation.code coding (LOINC when there is one), without any value. */
  code: { system?: string; code: string; display?: string };
  /** How many Observations with this code were seen in the look-back window. */
  count: number;
}

/** What the inference engine returns for one patient. */
export interface InferenceOutput {
  predictions: OutcomePrediction[];
  modalityContributions: ModalityContribution[];
  featureContributions: FeatureContribution[];
  /** The ONNX Runtime execution provider that ran it (`cpu`, `cuda`). */
  executionProvider: string;
  /**
   * Per-outcome localisation maps on the model's output grid, when the model declares a
   * localisation output and the image modality was present (absent otherwise).
   */
  localisationMaps?: OutcomeMap[];
  /**
   * The finding localiser's region maps and presence probabilities, when the model declares a
   * `finding-map` output and the image modality was present (issue 20).
   */
  findingMaps?: FindingMap[];
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
  /**
   * Outcomes given no probability (absent = none). `predictions` and the contribution deltas hold
   * only the assessed outcomes; when every outcome is here, `predictions` is empty.
   */
  notAssessed?: NotAssessedOutcome[];
  /** Observations seen but not used by this model (absent = none). */
  unusedInputs?: UnusedInput[];
  /** When inference ran (RiskAssessment.occurrenceDateTime, Provenance.recorded). */
  occurredAt: string;
  /** Trace id carried from the notification, for logs and Provenance. */
  traceId: string;
  /**
   * Localisation of the image findings (issue #20), when the model produced maps: where they go
   * on the source image, or why they cannot be placed there. Not part of the assessment identity.
   */
  localisation?: AssessmentLocalisation;
}
