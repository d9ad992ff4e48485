import type { RiskAssessmentPrediction } from '@medplum/fhirtypes';
import { RISK_LEVELS } from '../../config/config-schema.js';
import { RISK_PROBABILITY_SYSTEM } from '../../contracts/fusion-terminology.js';
import type { CdsCard } from './cds-hooks-types.js';

/** risk-probability codes, least to most severe (THO CodeSystem risk-probability). */
const RISK_ORDER = RISK_LEVELS;

/** A risk-probability code, or `undefined` when the prediction carries none. */
export type RiskCode = (typeof RISK_ORDER)[number];

/** The risk-probability code of a prediction's qualitativeRisk, as set from the manifest thresholds. */
export function riskCode(prediction: RiskAssessmentPrediction): RiskCode | undefined {
  const code = prediction.qualitativeRisk?.coding?.find((c) => c.system === RISK_PROBABILITY_SYSTEM)?.code;
  return RISK_ORDER.find((r) => r === code);
}

/** Severity rank of a code (higher is worse); -1 when unknown. */
export function riskRank(code: RiskCode | undefined): number {
  return code ? RISK_ORDER.indexOf(code) : -1;
}

/**
 * CDS Hooks 2.0 §Card attributes `indicator` from the qualitative risk: high and certain are
 * `critical`, moderate is `warning`, anything lower (or unknown) is `info`. The bands themselves
 * come from the model manifest's thresholds, applied when the RiskAssessment was written.
 */
export function indicatorFor(code: RiskCode | undefined): CdsCard['indicator'] {
  if (code === 'high' || code === 'certain') return 'critical';
  if (code === 'moderate') return 'warning';
  return 'info';
}

/**
 * The prediction a card headlines: the most severe qualitative risk, ties broken by the higher
 * probability.
 */
export function headlinePrediction(predictions: readonly RiskAssessmentPrediction[]): RiskAssessmentPrediction | undefined {
  let best: RiskAssessmentPrediction | undefined;
  for (const p of predictions) {
    if (!best) {
      best = p;
      continue;
    }
    const diff = riskRank(riskCode(p)) - riskRank(riskCode(best));
    if (diff > 0 || (diff === 0 && (p.probabilityDecimal ?? 0) > (best.probabilityDecimal ?? 0))) best = p;
  }
  return best;
}
