import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import type { MissingReason } from '../contracts/patient-record.js';
import type { ManifestCoding, ModalityName, QualitativeThreshold } from '../contracts/manifest-types.js';
import { CODE_SYSTEMS, RISK_PROBABILITY_SYSTEM } from '../contracts/fusion-terminology.js';
import type { NotAssessedReason } from '../contracts/assessment-result.js';

const MODALITY_DISPLAY: Record<ModalityName, string> = {
  tabular: 'Labs and vital signs',
  text: 'Report text',
  image: 'Image',
  ecg: 'ECG',
};

const MISSING_REASON_DISPLAY: Record<MissingReason, string> = {
  'none-in-window': 'None in the look-back window',
  'fetch-failed': 'Could not be fetched',
  'unsupported-format': 'Unsupported format',
  'failed-to-decode': 'Could not be decoded',
  'not-allowed': 'Not allowed',
  'invalid-value': 'Invalid value',
  'outside-input-contract': "Outside the model's input contract",
  'out-of-distribution': 'Unlike the training data',
};

const NOT_ASSESSED_REASON_DISPLAY: Record<NotAssessedReason, string> = {
  'too-little-information': 'Too little information',
  'required-input-missing': 'Required input missing or unusable',
};

// Displays from http://terminology.hl7.org/CodeSystem/risk-probability (THO, FHIR R4 §RiskAssessment).
const RISK_PROBABILITY_DISPLAY: Record<QualitativeThreshold['code'], string> = {
  negligible: 'Negligible likelihood',
  low: 'Low likelihood',
  moderate: 'Moderate likelihood',
  high: 'High likelihood',
  certain: 'Certain',
};

/** A modality as a Coding in the fhir-fusion modality code system. */
export function modalityCoding(modality: ModalityName): Coding {
  return { system: CODE_SYSTEMS.modality, code: modality, display: MODALITY_DISPLAY[modality] };
}

/** A missing-modality reason as a Coding in the fhir-fusion missing-reason code system. */
export function missingReasonCoding(reason: MissingReason): Coding {
  return { system: CODE_SYSTEMS.missingReason, code: reason, display: MISSING_REASON_DISPLAY[reason] };
}

/** Why an outcome was not assessed, as a Coding in the fhir-fusion not-assessed-reason code system. */
export function notAssessedReasonCoding(reason: NotAssessedReason): Coding {
  return { system: CODE_SYSTEMS.notAssessedReason, code: reason, display: NOT_ASSESSED_REASON_DISPLAY[reason] };
}

/** `RiskAssessment.prediction.qualitativeRisk` from a risk-probability code. */
export function qualitativeRiskConcept(code: QualitativeThreshold['code']): CodeableConcept {
  return { coding: [{ system: RISK_PROBABILITY_SYSTEM, code, display: RISK_PROBABILITY_DISPLAY[code] }] };
}

/** A manifest outcome as a CodeableConcept. */
export function outcomeConcept(coding: ManifestCoding): CodeableConcept {
  return {
    coding: [{ system: coding.system, code: coding.code, display: coding.display }],
    text: coding.display,
  };
}

/**
 * Rounds a probability or probability difference to 6 decimal places: FHIR decimals keep the
 * precision they are written with (R4 §2.24.0.1 decimal), and float noise such as
 * 0.30000000000000004 would claim precision the model does not have.
 */
export function roundProbability(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
