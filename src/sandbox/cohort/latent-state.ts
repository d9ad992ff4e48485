import type { CohortPrevalence } from './cohort-options.js';
import type { Rng } from './seeded-random.js';

/** The ground-truth conditions of one patient (written to `labels.ndjson`, never into FHIR). */
export interface LatentConditions {
  acuteHeartFailure: boolean;
  pneumonia: boolean;
  atrialFibrillation: boolean;
}

/** Which lung a finding is in. Radiographs are displayed PA: the patient's right is image left. */
export type Side = 'left' | 'right';

/**
 * The hidden physiology every modality is drawn from. Each modality sees it through its own noise,
 * and each finding is expressed only with some probability, so no single modality is decisive.
 */
export interface LatentState {
  conditions: LatentConditions;
  ageYears: number;
  sex: 'male' | 'female';
  /** 0 without heart failure; otherwise severity in (0, 1]. */
  heartFailureSeverity: number;
  /** 0 without pneumonia; otherwise severity in (0, 1]. */
  pneumoniaSeverity: number;
  /** Cardiothoracic ratio as drawn on the radiograph (normal < 0.5). */
  cardiothoracicRatio: number;
  /** Pulmonary oedema haze, 0 (none) to 1 (alveolar oedema). */
  edema: number;
  /** Pleural effusion size per side, 0 (none) to 1 (large). */
  effusion: Record<Side, number>;
  /** Lobar consolidation, when drawn. */
  consolidation: { side: Side; zone: 'lower' | 'middle' | 'upper'; extent: number } | undefined;
  /** Plate-like basal atelectasis: a non-pneumonic opacity that mimics consolidation. */
  atelectasis: Side | undefined;
  /** ECG morphology modifiers. */
  ecg: { leftVentricularHypertrophy: boolean; lowVoltage: boolean; heartRateBpm: number };
  /** Core temperature in °C, used by the vitals and mentioned nowhere else. */
  temperatureC: number;
}

function oddsToProbability(odds: number): number {
  return odds / (1 + odds);
}

/**
 * Samples the conditions with the configured prevalence, then the findings each condition
 * expresses. Co-occurrence: atrial fibrillation multiplies the odds of acute heart failure by
 * `heartFailureOddsRatioWithAtrialFibrillation`; pneumonia is independent.
 */
export function sampleLatentState(rng: Rng, prevalence: CohortPrevalence): LatentState {
  const atrialFibrillation = rng.chance(prevalence.atrialFibrillation);
  const baseOdds = prevalence.acuteHeartFailure / Math.max(1e-9, 1 - prevalence.acuteHeartFailure);
  const hfProbability = atrialFibrillation
    ? oddsToProbability(baseOdds * prevalence.heartFailureOddsRatioWithAtrialFibrillation)
    : prevalence.acuteHeartFailure;
  const acuteHeartFailure = rng.chance(hfProbability);
  const pneumonia = rng.chance(prevalence.pneumonia);

  const sex = rng.chance(0.5) ? 'female' : 'male';
  // Older patients in the cardiac groups, as in real admissions.
  const ageMean = 58 + (acuteHeartFailure ? 14 : 0) + (atrialFibrillation ? 10 : 0);
  const ageYears = Math.round(Math.min(98, Math.max(18, ageMean + 15 * rng.normal())));

  const heartFailureSeverity = acuteHeartFailure ? rng.uniform(0.25, 1) : 0;
  const pneumoniaSeverity = pneumonia ? rng.uniform(0.25, 1) : 0;

  // Heart size: normal CTR ~0.45 with spread; heart failure shows cardiomegaly in ~65 %, and
  // 12–30 % of the others (more with AF or age > 75) have a chronically large heart.
  let ctr = 0.45 + 0.035 * rng.normal();
  if (acuteHeartFailure && rng.chance(0.65)) ctr = 0.54 + 0.08 * heartFailureSeverity + 0.03 * rng.normal();
  else if (!acuteHeartFailure && rng.chance(atrialFibrillation || ageYears > 75 ? 0.3 : 0.12))
    ctr = 0.53 + 0.03 * rng.normal();
  ctr = Math.min(0.72, Math.max(0.36, ctr));

  // Oedema in half of decompensations; a few others are fluid-overloaded for other reasons.
  const edema =
    acuteHeartFailure && rng.chance(0.5)
      ? Math.min(1, heartFailureSeverity * rng.uniform(0.6, 1.2))
      : rng.chance(0.06)
        ? rng.uniform(0.2, 0.4)
        : 0;

  const effusion: Record<Side, number> = { left: 0, right: 0 };
  if (acuteHeartFailure && rng.chance(0.4)) {
    effusion.right = rng.uniform(0.2, 0.5 + 0.5 * heartFailureSeverity);
    if (rng.chance(0.6)) effusion.left = rng.uniform(0.15, 0.4 + 0.4 * heartFailureSeverity);
  }
  let consolidation: LatentState['consolidation'];
  if (pneumonia && rng.chance(0.8)) {
    const side: Side = rng.chance(0.6) ? 'right' : 'left';
    const zone = rng.pick(
      side === 'right'
        ? (['lower', 'lower', 'middle', 'upper'] as const)
        : (['lower', 'lower', 'upper'] as const),
    );
    consolidation = { side, zone, extent: Math.min(1, pneumoniaSeverity * rng.uniform(0.6, 1.3)) };
    // Parapneumonic effusion on the same side.
    if (rng.chance(0.2)) effusion[side] = Math.max(effusion[side], rng.uniform(0.15, 0.45));
  }
  if (!acuteHeartFailure && !pneumonia && rng.chance(0.03))
    effusion[rng.chance(0.5) ? 'left' : 'right'] = rng.uniform(0.12, 0.3);
  const atelectasis: Side | undefined = rng.chance(0.1) ? (rng.chance(0.5) ? 'left' : 'right') : undefined;

  let heartRateBpm = 72 + 10 * rng.normal();
  if (acuteHeartFailure) heartRateBpm += 15 + 15 * heartFailureSeverity;
  if (pneumonia) heartRateBpm += 8 + 12 * pneumoniaSeverity;
  if (atrialFibrillation) heartRateBpm += 15 + 10 * rng.normal();
  heartRateBpm = Math.min(165, Math.max(45, heartRateBpm));

  const leftVentricularHypertrophy =
    (acuteHeartFailure && rng.chance(0.35)) || (!acuteHeartFailure && rng.chance(0.05));
  const lowVoltage =
    !leftVentricularHypertrophy && ((acuteHeartFailure && rng.chance(0.25)) || rng.chance(0.03));

  let temperatureC = 36.8 + 0.3 * rng.normal();
  if (pneumonia && rng.chance(0.75)) temperatureC += 0.8 + 1.5 * pneumoniaSeverity * rng.uniform(0.5, 1);

  return {
    conditions: { acuteHeartFailure, pneumonia, atrialFibrillation },
    ageYears,
    sex,
    heartFailureSeverity,
    pneumoniaSeverity,
    cardiothoracicRatio: ctr,
    edema,
    effusion,
    consolidation,
    atelectasis,
    ecg: { leftVentricularHypertrophy, lowVoltage, heartRateBpm },
    temperatureC,
  };
}
