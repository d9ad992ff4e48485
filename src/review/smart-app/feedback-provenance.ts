import type { Provenance } from '@medplum/fhirtypes';
import { PROVENANCE_PARTICIPANT_TYPE, structureDefinitionUrl } from '../../contracts/fusion-terminology.js';

/** A clinician's verdict on an AI assessment. */
export type ReviewVerdict = 'agree' | 'disagree';

/** Extension URLs of the review Provenance (R4 Provenance has no element for a verdict or a comment). */
export const REVIEW_EXTENSION_URLS = {
  verdict: structureDefinitionUrl('review-verdict'),
  comment: structureDefinitionUrl('review-comment'),
} as const;

/** A review read back from a Provenance. */
export interface ReviewView {
  verdict: ReviewVerdict | undefined;
  comment: string | undefined;
  reviewer: string;
  recorded: string | undefined;
  /** `RiskAssessment/id` the review is about. */
  target: string | undefined;
}

/**
 * The Provenance recording a clinician's review of an AI-asserted RiskAssessment, after HL7 AI
 * Transparency on FHIR ("human in the loop"): the clinician is the agent with
 * provenance-participant-type `verifier` ("a person who verifies the correctness and
 * appropriateness of activity", R4 §6.3), the assessment is the `target` (unversioned, so
 * `_revinclude=Provenance:target` finds it) and its reviewed version an entity with role `source`.
 */
export function buildFeedbackProvenance(input: {
  assessment: { id: string; versionId: string | undefined };
  verdict: ReviewVerdict;
  comment: string;
  fhirUser: string | undefined;
  recorded: string;
}): Provenance {
  const versioned = input.assessment.versionId
    ? `RiskAssessment/${input.assessment.id}/_history/${input.assessment.versionId}`
    : `RiskAssessment/${input.assessment.id}`;
  const comment = input.comment.trim();
  return {
    resourceType: 'Provenance',
    extension: [
      { url: REVIEW_EXTENSION_URLS.verdict, valueCode: input.verdict },
      ...(comment ? [{ url: REVIEW_EXTENSION_URLS.comment, valueString: comment }] : []),
    ],
    target: [{ reference: `RiskAssessment/${input.assessment.id}` }],
    recorded: input.recorded,
    activity: { text: input.verdict === 'agree' ? 'Clinician agreed with the AI assessment' : 'Clinician disagreed with the AI assessment' },
    agent: [
      {
        type: { coding: [{ system: PROVENANCE_PARTICIPANT_TYPE, code: 'verifier', display: 'Verifier' }] },
        // Without fhirUser (no openid/fhirUser scope granted) the reviewer is still named, by role.
        who: input.fhirUser ? { reference: input.fhirUser } : { display: 'Clinician (identity not shared by the EHR)' },
      },
    ],
    entity: [{ role: 'source', what: { reference: versioned } }],
  };
}

/** Reads a review Provenance written by {@link buildFeedbackProvenance}. */
export function reviewView(provenance: Provenance): ReviewView {
  const ext = (url: string) => provenance.extension?.find((e) => e.url === url);
  const verdict = ext(REVIEW_EXTENSION_URLS.verdict)?.valueCode;
  const who = provenance.agent?.find((a) => a.type?.coding?.some((c) => c.code === 'verifier'))?.who;
  return {
    verdict: verdict === 'agree' || verdict === 'disagree' ? verdict : undefined,
    comment: ext(REVIEW_EXTENSION_URLS.comment)?.valueString,
    reviewer: who?.display ?? who?.reference ?? 'Unknown reviewer',
    recorded: provenance.recorded,
    target: provenance.target?.[0]?.reference?.replace(/\/_history\/[^/]+$/, ''),
  };
}
