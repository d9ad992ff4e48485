import type { CodeableConcept, Extension, Provenance, RiskAssessment } from '@medplum/fhirtypes';
import {
  AIAST,
  CODE_SYSTEMS,
  EXTENSION_URLS,
  PROVENANCE_PARTICIPANT_TYPE,
  RISK_PROBABILITY_SYSTEM,
} from '../../contracts/fusion-terminology.js';

/** One outcome's prediction as shown. */
export interface PredictionView {
  outcome: string;
  probability: number | undefined;
  /** risk-probability code (`low`, `moderate`, `high`, …). */
  riskCode: string | undefined;
  riskDisplay: string | undefined;
  /** Set when the model gave no probability for this outcome: the reason (issue #17). */
  notAssessed?: string;
}

/** A modality's or feature's contribution to one outcome. */
export interface ContributionView {
  label: string;
  outcome: string;
  delta: number;
  /** For features: value and unit the model saw. */
  value?: number;
  unit?: string;
}

/** A modality the model ran without. */
export interface MissingView {
  modality: string;
  reason: string;
  detail: string | undefined;
}

/** A RiskAssessment written by fhir-fusion, read into what the page shows. */
export interface AssessmentView {
  id: string;
  reference: string;
  occurredAt: string | undefined;
  modelCode: string | undefined;
  modelTitle: string | undefined;
  status: string;
  predictions: PredictionView[];
  modalities: ContributionView[];
  features: ContributionView[];
  missing: MissingView[];
  basis: string[];
  performer: string | undefined;
  notes: string[];
}

/** A fhir-fusion-written assessment carries the AIAST label and a method coded in the fhir-fusion model system. */
export function isFusionAssessment(ra: RiskAssessment): boolean {
  const labelled = (ra.meta?.security ?? []).some((c) => c.system === AIAST.system && c.code === AIAST.code);
  const ours = (ra.method?.coding ?? []).some((c) => c.system === CODE_SYSTEMS.model);
  return labelled && ours;
}

function conceptText(concept: CodeableConcept | undefined): string {
  return concept?.text ?? concept?.coding?.[0]?.display ?? concept?.coding?.[0]?.code ?? 'Unknown';
}

function sub(ext: Extension, url: string): Extension | undefined {
  return ext.extension?.find((e) => e.url === url);
}

function contributions(ra: RiskAssessment, url: string, labelOf: (ext: Extension) => string): ContributionView[] {
  return (ra.extension ?? [])
    .filter((e) => e.url === url)
    .flatMap((e) => {
      const delta = sub(e, 'delta')?.valueDecimal;
      if (typeof delta !== 'number') return [];
      const quantity = sub(e, 'value')?.valueQuantity;
      return [
        {
          label: labelOf(e),
          outcome: conceptText(sub(e, 'outcome')?.valueCodeableConcept),
          delta,
          ...(typeof quantity?.value === 'number' ? { value: quantity.value } : {}),
          ...(quantity?.unit ?? quantity?.code ? { unit: quantity?.unit ?? quantity?.code } : {}),
        },
      ];
    });
}

/** Reads a fhir-fusion RiskAssessment (profile FusionRiskAssessment) into an {@link AssessmentView}. */
export function assessmentView(ra: RiskAssessment): AssessmentView {
  const method = (ra.method?.coding ?? []).find((c) => c.system === CODE_SYSTEMS.model);
  return {
    id: ra.id ?? '',
    reference: `RiskAssessment/${ra.id ?? ''}`,
    occurredAt: ra.occurrenceDateTime ?? ra.meta?.lastUpdated,
    modelCode: method?.code,
    modelTitle: ra.method?.text ?? method?.display,
    status: ra.status,
    predictions: (ra.prediction ?? []).map((p) => {
      const risk = p.qualitativeRisk?.coding?.find((c) => c.system === RISK_PROBABILITY_SYSTEM);
      return {
        outcome: conceptText(p.outcome),
        probability: p.probabilityDecimal,
        riskCode: risk?.code,
        riskDisplay: risk?.display ?? risk?.code,
      };
    }).concat(
      // Outcomes not assessed have no prediction element (issue #17): shown as "cannot assess",
      // without probability, so the trend chart skips them and no badge reads "low".
      (ra.extension ?? [])
        .filter((e) => e.url === EXTENSION_URLS.outcomeNotAssessed)
        .map((e) => ({
          outcome: conceptText(sub(e, 'outcome')?.valueCodeableConcept),
          probability: undefined,
          riskCode: undefined,
          riskDisplay: undefined,
          notAssessed: sub(e, 'detail')?.valueString ?? sub(e, 'reason')?.valueCoding?.display ?? 'not assessed',
        })),
    ),
    modalities: contributions(ra, EXTENSION_URLS.modalityContribution, (e) => {
      const c = sub(e, 'modality')?.valueCoding;
      return c?.display ?? c?.code ?? 'Unknown';
    }),
    features: contributions(ra, EXTENSION_URLS.featureContribution, (e) => sub(e, 'feature')?.valueString ?? 'Unknown'),
    missing: (ra.extension ?? [])
      .filter((e) => e.url === EXTENSION_URLS.missingModality)
      .map((e) => {
        const modality = sub(e, 'modality')?.valueCoding;
        const reason = sub(e, 'reason')?.valueCoding;
        return {
          modality: modality?.display ?? modality?.code ?? 'Unknown',
          reason: reason?.display ?? reason?.code ?? 'Unknown',
          detail: sub(e, 'detail')?.valueString,
        };
      }),
    basis: (ra.basis ?? []).flatMap((b) => (b.reference ? [b.reference] : [])),
    performer: ra.performer?.reference,
    notes: (ra.note ?? []).flatMap((n) => (n.text ? [n.text] : [])),
  };
}

/** Strips `/_history/v` so references compare by resource. */
export function unversioned(reference: string): string {
  return reference.replace(/\/_history\/[^/]+$/, '');
}

/** Whether a Provenance records a clinician's review (agent of type `verifier`). */
export function isReviewProvenance(provenance: Provenance): boolean {
  return (provenance.agent ?? []).some((a) =>
    (a.type?.coding ?? []).some((c) => c.system === PROVENANCE_PARTICIPANT_TYPE && c.code === 'verifier'),
  );
}

/** Whether a Provenance is the one fhir-fusion wrote with the assessment (agent of type `author`, a Device). */
export function isFusionProvenance(provenance: Provenance): boolean {
  return (provenance.agent ?? []).some(
    (a) =>
      (a.type?.coding ?? []).some((c) => c.system === PROVENANCE_PARTICIPANT_TYPE && c.code === 'author') &&
      (a.who?.reference ?? '').startsWith('Device/'),
  );
}

/** The execution-provider extension of fhir-fusion's Provenance. */
export function executionProviderOf(provenance: Provenance | undefined): string | undefined {
  return provenance?.extension?.find((e) => e.url === EXTENSION_URLS.executionProvider)?.valueCode;
}

/** The model card reference (entity role `derivation`) of fhir-fusion's Provenance. */
export function modelCardOf(provenance: Provenance | undefined): string | undefined {
  return provenance?.entity?.find((e) => e.role === 'derivation')?.what?.reference;
}
