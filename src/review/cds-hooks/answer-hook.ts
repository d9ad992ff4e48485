import type { CdsResponse, HookRequest } from './cds-hooks-types.js';
import { buildRiskCard, type CardContext } from './build-risk-card.js';
import { chooseCardAssessment, type CardPolicy } from './choose-card-assessment.js';
import type { IssuedCard } from '../../store/cds-card-repository.js';
import type { HookData } from './load-hook-data.js';
import { selectLatestAssessments } from './select-latest-assessments.js';
import type { DiagnosticReport, Resource } from '@medplum/fhirtypes';
import { DRAFT_REPORT_PROFILE } from '../../writeback/build-draft-report.js';

/** fhir-fusion's preliminary AI drafts of this patient among the hook data (issue #20). */
function countPendingDrafts(resources: readonly Resource[], patientId: string): number {
  return resources.filter(
    (r): r is DiagnosticReport =>
      r.resourceType === 'DiagnosticReport' &&
      r.status === 'preliminary' &&
      (r.meta?.profile ?? []).includes(DRAFT_REPORT_PROFILE) &&
      r.subject?.reference === `Patient/${patientId}`,
  ).length;
}

/**
 * The response to one hook call (CDS Hooks 2.0 §CDS Service Response): at most one card, from the
 * primary model's newest assessment when its risk reaches the threshold ({@link chooseCardAssessment});
 * `{ cards: [] }` otherwise (the spec's "no decision support" answer). Also returns the rows to
 * record so feedback can be matched.
 */
export function answerHook(input: {
  serviceId: string;
  request: HookRequest;
  data: HookData;
  clientIss: string;
  policy: CardPolicy;
  card: CardContext;
}): { response: CdsResponse; issued: IssuedCard[] } {
  const { request } = input;
  const latest = selectLatestAssessments(input.data.assessments, request.context.patientId);
  const chosen = chooseCardAssessment(latest, input.policy);
  const pendingDrafts = countPendingDrafts(input.data.assessments, request.context.patientId);
  const card: CardContext = pendingDrafts > 0 ? { ...input.card, pendingDrafts } : input.card;
  const built = chosen ? [{ latest: chosen, card: buildRiskCard(chosen, card) }] : [];
  return {
    response: { cards: built.map((b) => b.card) },
    issued: built.map((b) => ({
      uuid: b.card.uuid,
      serviceId: input.serviceId,
      patientId: request.context.patientId,
      ...(b.latest.assessment.id ? { riskAssessment: `RiskAssessment/${b.latest.assessment.id}` } : {}),
      model: b.latest.modelName,
      indicator: b.card.indicator,
      hookInstance: request.hookInstance,
      clientIss: input.clientIss,
    })),
  };
}
