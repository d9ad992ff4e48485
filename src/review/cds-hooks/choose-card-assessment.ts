import type { RiskLevel } from '../../config/config-schema.js';
import { headlinePrediction, riskCode, riskRank } from './risk-indicator.js';
import type { LatestAssessment } from './select-latest-assessments.js';

/** Which model's assessment becomes the card, and from which risk up. */
export interface CardPolicy {
  /** `CDS_HOOKS_MODELS`: model names in order of preference; empty = {@link CardPolicy.served} order, then any other. */
  models: readonly string[];
  /** Names of the served models, in ACTIVE_MODELS order. */
  served: readonly string[];
  /** `CDS_HOOKS_MIN_RISK`. */
  minRisk: RiskLevel;
}

/**
 * Served model names in `ACTIVE_MODELS` order (`name@version` entries), then any other served
 * model: the model repository loads in its own order, and the operator's order is the preference.
 */
export function servedModelOrder(activeModels: readonly string[], served: readonly string[]): string[] {
  const active = activeModels.map((ref) => ref.split('@')[0] ?? ref).filter((name) => served.includes(name));
  return [...new Set([...active, ...served])];
}

/**
 * The one assessment a hook call turns into a card, or `undefined` for no card. One card per
 * patient: several models' assessments of the same patient are near-duplicates, and CDS Hooks 2.0
 * asks services to keep cards few and actionable (§CDS Service Response: "a CDS Service SHOULD
 * return as few cards as possible"; alert fatigue). The primary model is the first of the
 * preference list that assessed the patient. No card when its headline risk is below `minRisk`;
 * an assessment without any risk (every outcome "cannot assess", issue #17) gives a card only
 * with `minRisk` negligible, where every assessment does.
 */
export function chooseCardAssessment(
  latest: readonly LatestAssessment[],
  policy: CardPolicy,
): LatestAssessment | undefined {
  const preference = policy.models.length > 0 ? policy.models : policy.served;
  const rank = (l: LatestAssessment): number => {
    const i = preference.indexOf(l.modelName);
    if (i >= 0) return i;
    // With CDS_HOOKS_MODELS set, only the listed models give cards.
    return policy.models.length > 0 ? Number.POSITIVE_INFINITY : preference.length;
  };
  const candidates = latest.filter((l) => Number.isFinite(rank(l)));
  candidates.sort((a, b) => rank(a) - rank(b) || b.at - a.at);
  const chosen = candidates[0];
  if (!chosen || policy.minRisk === 'negligible') return chosen;
  const headline = headlinePrediction(chosen.assessment.prediction ?? []);
  const code = headline ? riskCode(headline) : undefined;
  return riskRank(code) >= riskRank(policy.minRisk) ? chosen : undefined;
}
