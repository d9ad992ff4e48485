import type { Device, Extension, Reference, RiskAssessment } from '@medplum/fhirtypes';
import type { AssessmentResult } from '../contracts/assessment-result.js';
import type { ModelManifest, OutcomeSpec } from '../contracts/manifest-types.js';
import { assessmentIdentity, versionedReferenceString } from '../contracts/assessment-identity.js';
import { modelMethodCoding, trainingDataNote } from './build-model-device.js';
import {
  missingReasonCoding,
  modalityCoding,
  notAssessedReasonCoding,
  outcomeConcept,
  qualitativeRiskConcept,
  roundProbability,
} from './fhir-codings.js';
import { explanationNote } from './explanation-note.js';
import { AIAST, CODE_SYSTEMS, EXTENSION_URLS, PROFILE_URLS } from '../contracts/fusion-terminology.js';
import { assessmentIdentityIdentifier } from './naming-systems.js';

function outcomeSpec(manifest: ModelManifest, index: number): OutcomeSpec {
  const spec = manifest.outcomes.find((o) => o.index === index);
  if (!spec)
    throw new Error(`outcome index ${index} is not in manifest ${manifest.name} ${manifest.version}`);
  return spec;
}

function escapeXhtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function modalityContributionExtensions(result: AssessmentResult, manifest: ModelManifest): Extension[] {
  return result.modalityContributions.flatMap((contribution) =>
    contribution.delta.map((delta, i) => ({
      url: EXTENSION_URLS.modalityContribution,
      extension: [
        { url: 'modality', valueCoding: modalityCoding(contribution.modality) },
        {
          url: 'outcome',
          valueCodeableConcept: outcomeConcept(outcomeSpec(manifest, predictionOutcome(result, i)).coding),
        },
        { url: 'delta', valueDecimal: roundProbability(delta) },
      ],
    })),
  );
}

function featureContributionExtensions(result: AssessmentResult, manifest: ModelManifest): Extension[] {
  return result.featureContributions.flatMap((feature) =>
    feature.delta.map((delta, i) => ({
      url: EXTENSION_URLS.featureContribution,
      extension: [
        { url: 'feature', valueString: feature.feature },
        // Canonical units in the manifest are UCUM codes (manifest-types.ts TabularFeatureSpec.unit).
        {
          url: 'value',
          valueQuantity: {
            value: feature.value,
            unit: feature.unit,
            system: 'http://unitsofmeasure.org',
            code: feature.unit,
          },
        },
        {
          url: 'outcome',
          valueCodeableConcept: outcomeConcept(outcomeSpec(manifest, predictionOutcome(result, i)).coding),
        },
        { url: 'delta', valueDecimal: roundProbability(delta) },
      ],
    })),
  );
}

/** Contribution deltas are aligned with `predictions`; map position → manifest outcome index. */
function predictionOutcome(result: AssessmentResult, position: number): number {
  const prediction = result.predictions[position];
  if (!prediction) throw new Error(`contribution delta ${position} has no matching prediction`);
  return prediction.outcomeIndex;
}

function missingModalityExtensions(result: AssessmentResult): Extension[] {
  return result.missing.map((missing) => ({
    url: EXTENSION_URLS.missingModality,
    extension: [
      { url: 'modality', valueCoding: modalityCoding(missing.modality) },
      { url: 'reason', valueCoding: missingReasonCoding(missing.reason) },
      ...(missing.detail ? [{ url: 'detail', valueString: missing.detail }] : []),
    ],
  }));
}

function notAssessedExtensions(result: AssessmentResult, manifest: ModelManifest): Extension[] {
  return (result.notAssessed ?? []).map((n) => ({
    url: EXTENSION_URLS.outcomeNotAssessed,
    extension: [
      { url: 'outcome', valueCodeableConcept: outcomeConcept(outcomeSpec(manifest, n.outcomeIndex).coding) },
      { url: 'reason', valueCoding: notAssessedReasonCoding(n.reason) },
      ...(n.detail ? [{ url: 'detail', valueString: n.detail }] : []),
    ],
  }));
}

function unusedInputExtensions(result: AssessmentResult): Extension[] {
  return (result.unusedInputs ?? []).map((u) => ({
    url: EXTENSION_URLS.unusedInput,
    extension: [
      { url: 'code', valueCoding: { ...(u.code.system ? { system: u.code.system } : {}), code: u.code.code, ...(u.code.display ? { display: u.code.display } : {}) } },
      { url: 'count', valueInteger: u.count },
    ],
  }));
}

/** How an unused observation code reads in the narrative and note: display, else system code. */
export function unusedInputLabel(u: NonNullable<AssessmentResult['unusedInputs']>[number]): string {
  return u.code.display ?? (u.code.system === 'http://loinc.org' ? `LOINC ${u.code.code}` : u.code.code);
}

/** The localisation-not-shown extension (issue #20): coded reason and the attribute that says so. */
function localisationNotShownExtensions(result: AssessmentResult): Extension[] {
  const n = result.localisation?.notMapped;
  if (!n) return [];
  return [
    {
      url: EXTENSION_URLS.localisationNotShown,
      extension: [
        { url: 'reason', valueCoding: { system: CODE_SYSTEMS.localisationNotMappedReason, code: n.reason } },
        { url: 'detail', valueString: n.detail },
      ],
    },
  ];
}

/**
 * Why the model's localisation maps were not placed on the image (issue #20), as plain text with
 * the reason code and the DICOM attribute that says so; `undefined` when they were, or there were none.
 */
export function localisationNotMappedNote(result: AssessmentResult): string | undefined {
  const n = result.localisation?.notMapped;
  return n ? `Localisation not shown on the image (${n.reason}): ${n.detail}.` : undefined;
}

/**
 * The FusionRiskAssessment for one result: AIAST-labelled, identified by
 * {@link assessmentIdentity}, performed by the model Device, based on every input version, one
 * prediction per outcome with probabilityDecimal on the 0..1 scale (see the profile) and
 * qualitativeRisk from risk-probability — an outcome the model abstained on gets no prediction
 * element, only the outcome-not-assessed extension — plus modality/feature contributions, missing
 * modalities and not-assessed outcomes as extensions. `status` stays `final` even when every
 * outcome abstains: R4 RiskAssessment.status is ObservationStatus, which has no "cannot be
 * obtained"; the assessment is complete, its content is that nothing could be assessed.
 */
export function buildRiskAssessment(input: {
  result: AssessmentResult;
  manifest: ModelManifest;
  device: Reference<Device>;
  identifierSystem: string;
  /** The imaging-finding Observations of localised findings (issue #20), added to `basis`. */
  findings?: Reference[];
}): RiskAssessment {
  const { result, manifest } = input;
  // Only assessed outcomes get a prediction element. An abstained outcome has none (issue #17):
  // base R4 ras-2 evaluates to empty on a prediction without probability and validators reject
  // it, and every qualitativeRisk code would read as an answer; the outcome-not-assessed extension,
  // the narrative and the note carry it instead (fhir-profiles/README.md).
  const predictions = result.predictions.map((p) => ({
    outcome: outcomeConcept(outcomeSpec(manifest, p.outcomeIndex).coding),
    probabilityDecimal: roundProbability(p.probability),
    qualitativeRisk: qualitativeRiskConcept(p.qualitativeRisk),
  }));
  const rows = [
    ...result.predictions.map((p) => ({
      index: p.outcomeIndex,
      html: `<li>${escapeXhtml(outcomeSpec(manifest, p.outcomeIndex).coding.display)}: ${escapeXhtml(p.qualitativeRisk)} (${roundProbability(p.probability)})</li>`,
    })),
    ...(result.notAssessed ?? []).map((n) => ({
      index: n.outcomeIndex,
      html: `<li>${escapeXhtml(outcomeSpec(manifest, n.outcomeIndex).coding.display)}: not assessed (${escapeXhtml(n.detail)})</li>`,
    })),
  ]
    .sort((a, b) => a.index - b.index)
    .map((r) => r.html)
    .join('');
  const missing = result.missing.map((m) => escapeXhtml(m.modality)).join(', ');
  const extension = [
    ...modalityContributionExtensions(result, manifest),
    ...featureContributionExtensions(result, manifest),
    ...missingModalityExtensions(result),
    ...notAssessedExtensions(result, manifest),
    ...unusedInputExtensions(result),
    ...localisationNotShownExtensions(result),
  ];
  const unused = (result.unusedInputs ?? []).map((u) => escapeXhtml(`${unusedInputLabel(u)} (${u.count})`)).join(', ');
  const notLocalised = localisationNotMappedNote(result);
  return {
    resourceType: 'RiskAssessment',
    meta: { profile: [PROFILE_URLS.RiskAssessment], security: [AIAST] },
    text: {
      status: 'generated',
      div:
        `<div xmlns="http://www.w3.org/1999/xhtml"><p>AI-generated risk assessment by ${escapeXhtml(manifest.title)} ` +
        `${escapeXhtml(manifest.version)}.</p><ul>${rows}</ul>` +
        (missing ? `<p>Assessed without: ${missing}.</p>` : '') +
        (unused ? `<p>Seen but not used by this model: ${unused}.</p>` : '') +
        (notLocalised ? `<p>${escapeXhtml(notLocalised)}</p>` : '') +
        `<p>${escapeXhtml(trainingDataNote(manifest))}</p></div>`,
    },
    // An empty array is invalid FHIR JSON (R4 §2.6.2: arrays are never empty), so omit it.
    ...(extension.length > 0 ? { extension } : {}),
    identifier: [assessmentIdentityIdentifier(input.identifierSystem, assessmentIdentity(result))],
    status: 'final',
    method: { coding: [modelMethodCoding(manifest)], text: manifest.title },
    code: { text: manifest.title },
    subject: { reference: `Patient/${result.patientId}` },
    occurrenceDateTime: result.occurredAt,
    performer: input.device,
    basis: [...result.basis.map((ref) => ({ reference: versionedReferenceString(ref) })), ...(input.findings ?? [])],
    ...(predictions.length > 0 ? { prediction: predictions } : {}),
    // Plain text first (issue #17): a chart that ignores extensions and narrative still shows why.
    note: [
      { text: explanationNote(result, manifest) },
      { text: trainingDataNote(manifest) },
      ...(notLocalised ? [{ text: notLocalised }] : []),
    ],
  };
}
