import type { CdsResponse, HookRequest } from './cds-hooks-types.js';
import { buildRiskCard, type CardContext } from './build-risk-card.js';
import { chooseCardAssessment, type CardPolicy } from './choose-card-assessment.js';
import type { IssuedCard } from '../../store/cds-card-repository.js';
import type { HookData } from './load-hook-data.js';
import { selectLatestAssessments } from './select-latest-assessments.js';

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
  const built = chosen ? [{ latest: chosen, card: buildRiskCard(chosen, input.card) }] : [];
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
