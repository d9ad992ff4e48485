import type { CdsCard, CdsResponse, HookRequest } from './cds-hooks-types.js';
import { buildRiskCard, type CardContext } from './build-risk-card.js';
import type { IssuedCard } from '../../store/cds-card-repository.js';
import type { HookData } from './load-hook-data.js';
import { selectLatestAssessments } from './select-latest-assessments.js';

const SEVERITY: Record<CdsCard['indicator'], number> = { critical: 0, warning: 1, info: 2 };

/**
 * The response to one hook call (CDS Hooks 2.0 §CDS Service Response): one card per model with
 * an assessment for the patient, most severe first; `{ cards: [] }` when there is none (the spec's
 * "no decision support" answer). Also returns the rows to record so feedback can be matched.
 */
export function answerHook(input: {
  serviceId: string;
  request: HookRequest;
  data: HookData;
  clientIss: string;
  models: readonly string[];
  card: CardContext;
}): { response: CdsResponse; issued: IssuedCard[] } {
  const { request } = input;
  const latest = selectLatestAssessments(input.data.assessments, request.context.patientId, input.models);
  const built = latest.map((l) => ({ latest: l, card: buildRiskCard(l, input.card) }));
  built.sort((a, b) => SEVERITY[a.card.indicator] - SEVERITY[b.card.indicator] || b.latest.at - a.latest.at);
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
