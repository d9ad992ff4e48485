import type { Extension, RiskAssessment } from '@medplum/fhirtypes';
import { EXTENSION_URLS } from '../../contracts/fusion-terminology.js';

/** One modality's contribution to one outcome (FusionRiskAssessment modality-contribution extension). */
export interface ModalityContributionView {
  modality: string;
  outcomeCode: string;
  delta: number;
}

/** One input value's contribution (feature-contribution extension). */
export interface FeatureContributionView {
  feature: string;
  value: number | undefined;
  unit: string | undefined;
  outcomeCode: string;
  delta: number;
}

/** One modality the assessment was made without (missing-modality extension). */
export interface MissingModalityView {
  modality: string;
  reason: string;
}

function part(ext: Extension, url: string): Extension | undefined {
  return ext.extension?.find((e) => e.url === url);
}

/**
 * Reads the explanation extensions fhir-fusion writes on a RiskAssessment
 * (`src/writeback/build-risk-assessment.ts`): modality and feature contributions per outcome, and
 * the modalities that were missing. Displays are used for modalities so cards read naturally.
 */
export function readContributions(ra: RiskAssessment): {
  modalities: ModalityContributionView[];
  features: FeatureContributionView[];
  missing: MissingModalityView[];
} {
  const modalities: ModalityContributionView[] = [];
  const features: FeatureContributionView[] = [];
  const missing: MissingModalityView[] = [];
  for (const ext of ra.extension ?? []) {
    const outcomeCode = part(ext, 'outcome')?.valueCodeableConcept?.coding?.[0]?.code ?? '';
    const delta = part(ext, 'delta')?.valueDecimal;
    if (ext.url === EXTENSION_URLS.modalityContribution && delta !== undefined) {
      const coding = part(ext, 'modality')?.valueCoding;
      modalities.push({ modality: coding?.display ?? coding?.code ?? 'unknown', outcomeCode, delta });
    } else if (ext.url === EXTENSION_URLS.featureContribution && delta !== undefined) {
      const quantity = part(ext, 'value')?.valueQuantity;
      features.push({
        feature: part(ext, 'feature')?.valueString ?? 'unknown',
        value: quantity?.value,
        unit: quantity?.unit ?? quantity?.code,
        outcomeCode,
        delta,
      });
    } else if (ext.url === EXTENSION_URLS.missingModality) {
      const modality = part(ext, 'modality')?.valueCoding;
      const reason = part(ext, 'reason')?.valueCoding;
      missing.push({
        modality: modality?.display ?? modality?.code ?? 'unknown',
        reason: reason?.display ?? reason?.code ?? 'unknown',
      });
    }
  }
  return { modalities, features, missing };
}

/** An outcome the model did not assess (outcome-not-assessed extension, issue #17). */
export interface NotAssessedView {
  outcome: string;
  /** The reason's display (e.g. "Too little information"). */
  reason: string;
  detail: string | undefined;
}

/**
 * The outcomes a RiskAssessment declares not assessed. They have no `prediction` element (see
 * fhir-profiles/README.md), so a viewer that only read predictions would show nothing — or, worse,
 * a default; these must read "cannot assess".
 */
export function readNotAssessed(ra: RiskAssessment): NotAssessedView[] {
  return (ra.extension ?? [])
    .filter((e) => e.url === EXTENSION_URLS.outcomeNotAssessed)
    .map((e) => {
      const outcome = part(e, 'outcome')?.valueCodeableConcept;
      const reason = part(e, 'reason')?.valueCoding;
      return {
        outcome: outcome?.text ?? outcome?.coding?.[0]?.display ?? outcome?.coding?.[0]?.code ?? 'Outcome',
        reason: reason?.display ?? reason?.code ?? 'not assessed',
        detail: part(e, 'detail')?.valueString,
      };
    });
}
