import type { DiagnosticReport, Extension } from '@medplum/fhirtypes';
import type { ModalityName, ModelManifestHeader } from '../contracts/manifest-types.js';
import type { VersionedReference } from '../contracts/patient-record.js';
import { assessmentIdentity, versionedReferenceString } from '../contracts/assessment-identity.js';
import { AIAST, structureDefinitionUrl } from '../contracts/fusion-terminology.js';
import { trainingDataNote } from './build-model-device.js';
import { assessmentIdentityIdentifier } from './naming-systems.js';

/** Profile of an AI-drafted description (`fhir-profiles/StructureDefinition/FusionDraftDiagnosticReport.json`). */
export const DRAFT_REPORT_PROFILE = structureDefinitionUrl('FusionDraftDiagnosticReport');

/** Extension carrying the review state (`ai-draft-review`): R4 DiagnosticReport has no `note`. */
export const DRAFT_REVIEW_EXTENSION = structureDefinitionUrl('ai-draft-review');

/** Review states of a draft, each tied to one DiagnosticReport.status by the profile (ffdr-3). */
export type DraftReviewState = 'not-reviewed' | 'accepted' | 'rejected';

/** The DiagnosticReport.status each review state is written with (FHIR R4 DiagnosticReportStatus). */
export const DRAFT_STATUS: Record<DraftReviewState, 'preliminary' | 'final' | 'entered-in-error'> = {
  'not-reviewed': 'preliminary',
  accepted: 'final',
  rejected: 'entered-in-error',
};

/**
 * LOINC 36554-4 "XR Chest Single view" (class RAD): the drafting model reads one frontal chest
 * radiograph, the same code the cohort's single-view radiology reports carry.
 */
export const DRAFT_REPORT_CODE = {
  system: 'http://loinc.org',
  code: '36554-4',
  display: 'XR Chest Single view',
};

/** HL7 v2 table 0074 RAD (DiagnosticReport.category, R4 ValueSet diagnostic-service-sections). */
const RADIOLOGY = {
  system: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  code: 'RAD',
  display: 'Radiology',
};

/** One drafted description, with what the write-back needs to place it. */
export interface DraftedDescription {
  /** The generated text (already capped and passed through the identifier guard). */
  text: string;
  /** Decoding stopped at the length cap. */
  truncated: boolean;
  modelName: string;
  modelVersion: string;
  modelSha256: string;
  patientId: string;
  /** The ImagingStudy version the draft was made from. */
  study: VersionedReference;
  /** Every input version (the study, and report context if the model read one). */
  basis: VersionedReference[];
  /** The instant the record was assembled for (DiagnosticReport.effectiveDateTime). */
  occurredAt: string;
  /** ONNX Runtime execution provider the drafter ran on (Provenance extension). */
  executionProvider: string;
  traceId?: string;
}

/** The drafting model as the write-back describes it: manifest header, card and what it reads. */
export interface DraftingModelDescription {
  manifest: ModelManifestHeader;
  cardMarkdown: string;
  /** What the model reads (`image`, and `text` when it takes report context): the Device's AIKind codes. */
  modalities: readonly ModalityName[];
}

/**
 * The identity of a draft: the same sha256 as an assessment's ({@link assessmentIdentity}) over
 * the drafting model, its version, the subject and the input versions — so a retried job, a
 * duplicate notification or a second risk model's bundle carrying the same draft all find the
 * first write, and a new study version gives a new draft.
 */
export function draftIdentity(
  draft: Pick<DraftedDescription, 'modelName' | 'modelVersion' | 'patientId' | 'basis'>,
): string {
  return assessmentIdentity(draft);
}

function escapeXhtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** What the narrative says about who has looked at the text (R4 has no DiagnosticReport.note). */
export function reviewStatement(state: DraftReviewState, reviewer?: string): string {
  switch (state) {
    case 'not-reviewed':
      return 'AI-drafted, not reviewed by a clinician.';
    case 'accepted':
      return `AI-drafted, accepted as final by ${reviewer ?? 'a clinician'}.`;
    case 'rejected':
      return `AI-drafted, rejected by ${reviewer ?? 'a clinician'}; do not use.`;
  }
}

/** Narrative (R4 §2.4 Narrative, status generated) and review-state extension for a state. */
export function draftReviewMarkers(
  input: { text: string; modelTitle: string; modelVersion: string; trainingNote: string },
  state: DraftReviewState,
  reviewer?: string,
): { extension: Extension; text: NonNullable<DiagnosticReport['text']> } {
  return {
    extension: { url: DRAFT_REVIEW_EXTENSION, valueCode: state },
    text: {
      status: 'generated',
      div:
        `<div xmlns="http://www.w3.org/1999/xhtml"><p><b>${escapeXhtml(reviewStatement(state, reviewer))}</b> ` +
        `Drafted by ${escapeXhtml(input.modelTitle)} ${escapeXhtml(input.modelVersion)}.</p>` +
        `<p>${escapeXhtml(input.text)}</p><p>${escapeXhtml(input.trainingNote)}</p></div>`,
    },
  };
}

/**
 * The FusionDraftDiagnosticReport for one drafted description (FHIR R4 §8.6 DiagnosticReport):
 * - `status = preliminary` — R4: "verified early results are available, but not all results are
 *   final"; only a clinician's acceptance in the review app makes it `final` ("complete and
 *   verified by an authorized person"), which the model never is;
 * - `meta.security` AIAST (HL7 AI Transparency on FHIR "Inline AI Security Labels"), the review
 *   state extension `not-reviewed` and a narrative that says "AI-drafted, not reviewed";
 * - category RAD (v2-0074), code LOINC 36554-4, subject, effectiveDateTime = the record's instant,
 *   issued = when it was drafted, `imagingStudy` = the source study (version-specific), and
 *   `conclusion` = the draft;
 * - no `performer`: R4 limits it to Practitioner, PractitionerRole, Organization and CareTeam, so the
 *   drafting model is named as the Provenance author agent instead (`buildDraftProvenance`).
 */
export function buildDraftReport(input: {
  draft: DraftedDescription;
  model: DraftingModelDescription;
  identifierSystem: string;
  issued: string;
}): DiagnosticReport {
  const { draft, model } = input;
  const markers = draftReviewMarkers(
    {
      text: draft.text,
      modelTitle: model.manifest.title,
      modelVersion: model.manifest.version,
      trainingNote: trainingDataNote(model.manifest),
    },
    'not-reviewed',
  );
  return {
    resourceType: 'DiagnosticReport',
    meta: { profile: [DRAFT_REPORT_PROFILE], security: [AIAST] },
    text: markers.text,
    extension: [markers.extension],
    identifier: [assessmentIdentityIdentifier(input.identifierSystem, draftIdentity(draft))],
    status: DRAFT_STATUS['not-reviewed'],
    category: [{ coding: [RADIOLOGY], text: 'Radiology' }],
    code: { coding: [DRAFT_REPORT_CODE], text: 'Chest radiograph description (AI draft)' },
    subject: { reference: `Patient/${draft.patientId}` },
    effectiveDateTime: draft.occurredAt,
    issued: input.issued,
    imagingStudy: [{ reference: versionedReferenceString(draft.study) }],
    conclusion: draft.text,
  };
}
