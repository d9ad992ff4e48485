import type { OutcomeSpec, QualitativeThreshold } from '../../contracts/manifest-types.js';

/** Keeps logits finite at p = 0 or 1 (float32 sigmoid outputs saturate). */
const EPSILON = 1e-7;

/**
 * Applies the outcome's calibration to a raw model probability. Platt scaling (Platt 1999) as
 * fitted on the model's logit: p' = sigmoid(a * logit(p) + b).
 */
export function calibrateProbability(raw: number, calibration: OutcomeSpec['calibration']): number {
  const p = Math.min(1 - EPSILON, Math.max(EPSILON, raw));
  if (!calibration || calibration.method === 'none') return Math.min(1, Math.max(0, raw));
  const logit = Math.log(p / (1 - p));
  return 1 / (1 + Math.exp(-(calibration.a * logit + calibration.b)));
}

/**
 * The qualitative band for a probability: the band with the highest `min` not above it
 * (FHIR R4 RiskAssessment.prediction.qualitativeRisk, CodeSystem risk-probability). The manifest
 * schema guarantees bands ascend and start at 0.
 */
export function riskBand(
  probability: number,
  thresholds: readonly QualitativeThreshold[],
): QualitativeThreshold['code'] {
  let code = thresholds[0]?.code ?? 'negligible';
  for (const band of thresholds) if (probability >= band.min) code = band.code;
  return code;
}
