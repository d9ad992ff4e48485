import type {
  Bundle,
  DiagnosticReport,
  Practitioner,
  PractitionerRole,
  Provenance,
  Reference,
} from '@medplum/fhirtypes';
import { AIAST, PROVENANCE_PARTICIPANT_TYPE } from '../../contracts/fusion-terminology.js';
import {
  DRAFT_REPORT_PROFILE,
  DRAFT_REVIEW_EXTENSION,
  DRAFT_STATUS,
  reviewStatement,
  type DraftReviewState,
} from '../../writeback/build-draft-report.js';

/** What a clinician decides about an AI-drafted description in the review app. */
export type DraftDecision = 'accept' | 'reject';

/** An AI-drafted description as the review page shows it. */
export interface DraftView {
  id: string;
  /** `meta.versionId` as read: the form sends it back, and the write is conditional on it. */
  versionId: string | undefined;
  state: DraftReviewState;
  text: string;
  issued: string | undefined;
  study: string | undefined;
}

/** Whether a DiagnosticReport is a fhir-fusion AI draft (its profile, and AI-asserted). */
export function isFusionDraft(report: DiagnosticReport): boolean {
  const labelled = (report.meta?.security ?? []).some(
    (c) => c.system === AIAST.system && c.code === AIAST.code,
  );
  return labelled && (report.meta?.profile ?? []).includes(DRAFT_REPORT_PROFILE);
}

/** The review state a draft carries (`ai-draft-review`); `not-reviewed` when it says nothing. */
export function draftState(report: DiagnosticReport): DraftReviewState {
  const code = report.extension?.find((e) => e.url === DRAFT_REVIEW_EXTENSION)?.valueCode;
  return code === 'accepted' || code === 'rejected' ? code : 'not-reviewed';
}

/** The page's view of a draft. */
export function draftView(report: DiagnosticReport): DraftView {
  return {
    id: report.id ?? '',
    versionId: report.meta?.versionId,
    state: draftState(report),
    text: report.conclusion ?? '',
    issued: report.issued,
    study: report.imagingStudy?.[0]?.reference,
  };
}

function escapeXhtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The narrative with its review statement replaced (the drafting model and training-data lines are
 * kept); a fresh one when the draft's narrative is not the one fhir-fusion wrote.
 */
function reviewedNarrative(
  report: DiagnosticReport,
  statement: string,
): NonNullable<DiagnosticReport['text']> {
  const before = `<b>${escapeXhtml(reviewStatement('not-reviewed'))}</b>`;
  const div = report.text?.div ?? '';
  return {
    status: 'generated',
    div: div.includes(before)
      ? div.replace(before, `<b>${escapeXhtml(statement)}</b>`)
      : `<div xmlns="http://www.w3.org/1999/xhtml"><p><b>${escapeXhtml(statement)}</b></p><p>${escapeXhtml(report.conclusion ?? '')}</p></div>`,
  };
}

/** A reference to the clinician that FHIR R4 DiagnosticReport.resultsInterpreter allows. */
function interpreter(fhirUser: string | undefined): Reference<Practitioner | PractitionerRole> | undefined {
  return fhirUser && /^(Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/.test(fhirUser)
    ? { reference: fhirUser }
    : undefined;
}

/**
 * The clinician's decision on a preliminary draft as ONE transaction Bundle (FHIR R4 §3.1.0.11), so
 * the report never changes status without the Provenance that says who changed it:
 * - a PUT of the report with `request.ifMatch` = the version the clinician saw (R4 §3.1.0.4.2
 *   version-aware update): if anyone changed it since, the EHR answers 412 and nothing is written;
 * - accept → `status = final` (R4: "complete and verified by an authorized person"), review state
 *   `accepted`, the clinician as `resultsInterpreter` when they are a Practitioner(Role);
 *   reject → `entered-in-error` (R4: "should never have existed"; `cancelled` means the
 *   measurement was not done, which is not what a wrong draft is), review state `rejected`. The
 *   AIAST label stays: the text was still asserted by the model;
 * - a Provenance whose agent is the clinician with provenance-participant-type `verifier`, target
 *   the report and entity `revision` → the preliminary version it replaces (R4 provenance-entity-role).
 */
export function buildDraftDecision(input: {
  report: DiagnosticReport;
  decision: DraftDecision;
  fhirUser: string | undefined;
  reviewer: string | undefined;
  recorded: string;
}): Bundle {
  const { report } = input;
  const id = report.id ?? '';
  const version = report.meta?.versionId ?? '';
  const state: DraftReviewState = input.decision === 'accept' ? 'accepted' : 'rejected';
  const who = input.reviewer ?? (input.fhirUser ? input.fhirUser : undefined);
  const by = interpreter(input.fhirUser);
  const updated: DiagnosticReport = {
    ...report,
    status: DRAFT_STATUS[state],
    extension: [
      ...(report.extension ?? []).filter((e) => e.url !== DRAFT_REVIEW_EXTENSION),
      { url: DRAFT_REVIEW_EXTENSION, valueCode: state },
    ],
    text: reviewedNarrative(report, reviewStatement(state, who)),
    ...(state === 'accepted' && by ? { resultsInterpreter: [by] } : {}),
  };
  const provenance: Provenance = {
    resourceType: 'Provenance',
    target: [{ reference: `DiagnosticReport/${id}` }],
    recorded: input.recorded,
    activity: {
      text:
        state === 'accepted'
          ? 'Clinician accepted the AI-drafted description as final'
          : 'Clinician rejected the AI-drafted description',
    },
    agent: [
      {
        type: { coding: [{ system: PROVENANCE_PARTICIPANT_TYPE, code: 'verifier', display: 'Verifier' }] },
        who: input.fhirUser
          ? { reference: input.fhirUser }
          : { display: 'Clinician (identity not shared by the EHR)' },
      },
    ],
    entity: [{ role: 'revision', what: { reference: `DiagnosticReport/${id}/_history/${version}` } }],
  };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        resource: updated,
        request: { method: 'PUT', url: `DiagnosticReport/${id}`, ifMatch: `W/"${version}"` },
      },
      { resource: provenance, request: { method: 'POST', url: 'Provenance' } },
    ],
  };
}
