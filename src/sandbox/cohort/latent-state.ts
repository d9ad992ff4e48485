import type { CohortPrevalence } from './cohort-options.js';
import type { Rng } from './seeded-random.js';

/** The ground-truth conditions of one patient (written to `labels.ndjson`, never into FHIR). */
export interface LatentConditions {
  acuteHeartFailure: boolean;
  pneumonia: boolean;
  atrialFibrillation: boolean;
}

/**
 * Cardiothoracic ratio above which the heart counts as enlarged (cardiomegaly) in the
 * localisation ground truth: the conventional PA-film cut-off (CTR > 0.5; Danzer 1919, still the
 * textbook criterion), the same value the report text calls at least borderline enlarged.
 */
export const CARDIOMEGALY_CTR = 0.5;

/** Which lung a finding is in. Radiographs are displayed PA: the patient's right is image left. */
export type Side = 'left' | 'right';

/**
 * The hidden physiology every modality is drawn from. Each modality sees it through its own noise,
 * and each finding is expressed only with some probability, so no single modality is decisive.
 */
export interface LatentState {
  /** The disease the patient really has: every signal is drawn from these. */
  conditions: LatentConditions;
  /**
   * The diagnoses the EHR records at discharge (the training and evaluation labels): the latent
   * conditions with {@link LABEL_NOISE} applied, so a recorded label differs from the disease for
   * a stated fraction of patients, as coded diagnoses do.
   */
  recorded: LatentConditions;
  /**
   * Chronic kidney disease (eGFR < 60): a confounder that raises creatinine, NT-proBNP and
   * troponin without acute heart failure.
   */
  chronicKidneyDisease: boolean;
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

/**
 * Label noise: the share of patients whose recorded diagnosis differs from the latent condition.
 * `missed`: a present condition is not coded; `spurious`: an absent one is. Coded heart-failure
 * diagnoses have widely varying sensitivity and specificity above 0.95 (McCormick et al., PLoS One
 * 2014;9:e104519, systematic review of administrative HF codes), so misses dominate. These rates
 * are design values, deliberately milder than most of the coding studies.
 */
export const LABEL_NOISE: Readonly<Record<keyof LatentConditions, { missed: number; spurious: number }>> =
  Object.freeze({
    acuteHeartFailure: { missed: 0.1, spurious: 0.03 },
    pneumonia: { missed: 0.1, spurious: 0.03 },
    atrialFibrillation: { missed: 0.08, spurious: 0.02 },
  });

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

  const recordWithNoise = (present: boolean, noise: { missed: number; spurious: number }): boolean =>
    present ? !rng.chance(noise.missed) : rng.chance(noise.spurious);
  const recorded: LatentConditions = {
    acuteHeartFailure: recordWithNoise(acuteHeartFailure, LABEL_NOISE.acuteHeartFailure),
    pneumonia: recordWithNoise(pneumonia, LABEL_NOISE.pneumonia),
    atrialFibrillation: recordWithNoise(atrialFibrillation, LABEL_NOISE.atrialFibrillation),
  };

  const sex = rng.chance(0.5) ? 'female' : 'male';
  // Older patients in the cardiac groups, as in real admissions.
  const ageMean = 62 + (acuteHeartFailure ? 10 : 0) + (atrialFibrillation ? 8 : 0);
  const ageYears = Math.round(Math.min(98, Math.max(18, ageMean + 16 * rng.normal())));
  // CKD rises with age and is common in heart failure (about a third of HF patients have
  // moderate-to-severe renal impairment: Damman et al., Eur Heart J 2014;35:455).
  const chronicKidneyDisease = rng.chance(
    Math.min(0.6, 0.06 + 0.005 * Math.max(0, ageYears - 50) + (acuteHeartFailure ? 0.2 : 0)),
  );

  // Mild decompensations are common and look like everyone else on every modality.
  const heartFailureSeverity = acuteHeartFailure ? rng.uniform(0.1, 1) : 0;
  const pneumoniaSeverity = pneumonia ? rng.uniform(0.1, 1) : 0;

  // Heart size: normal CTR ~0.46 with spread; heart failure shows cardiomegaly in about half, and
  // 18–35 % of the others (more with AF, CKD or age > 75) have a chronically large heart. (About
  // one in five decompensations shows no congestion on the radiograph: Collins et al., Ann Emerg
  // Med 2006;47:13.)
  let ctr = 0.46 + 0.04 * rng.normal();
  if (acuteHeartFailure && rng.chance(0.5)) ctr = 0.53 + 0.06 * heartFailureSeverity + 0.035 * rng.normal();
  else if (
    !acuteHeartFailure &&
    rng.chance(atrialFibrillation || chronicKidneyDisease || ageYears > 75 ? 0.35 : 0.18)
  )
    ctr = 0.53 + 0.035 * rng.normal();
  ctr = Math.min(0.72, Math.max(0.36, ctr));

  // Oedema in a third of decompensations; some others are fluid-overloaded for other reasons (CKD).
  const edema =
    acuteHeartFailure && rng.chance(0.35)
      ? Math.min(1, heartFailureSeverity * rng.uniform(0.5, 1.1))
      : rng.chance(chronicKidneyDisease ? 0.15 : 0.07)
        ? rng.uniform(0.2, 0.45)
        : 0;

  const effusion: Record<Side, number> = { left: 0, right: 0 };
  if (acuteHeartFailure && rng.chance(0.3)) {
    effusion.right = rng.uniform(0.2, 0.5 + 0.5 * heartFailureSeverity);
    if (rng.chance(0.6)) effusion.left = rng.uniform(0.15, 0.4 + 0.4 * heartFailureSeverity);
  }
  let consolidation: LatentState['consolidation'];
  // The radiograph misses a large share of pneumonia (sensitivity 0.44 against CT for opacities:
  // Self et al., Am J Emerg Med 2013;31:401); we keep 0.6 for a visible consolidation.
  if (pneumonia && rng.chance(0.6)) {
    const side: Side = rng.chance(0.6) ? 'right' : 'left';
    const zone = rng.pick(
      side === 'right'
        ? (['lower', 'lower', 'middle', 'upper'] as const)
        : (['lower', 'lower', 'upper'] as const),
    );
    consolidation = { side, zone, extent: Math.min(1, pneumoniaSeverity * rng.uniform(0.4, 1.1)) };
    // Parapneumonic effusion on the same side.
    if (rng.chance(0.2)) effusion[side] = Math.max(effusion[side], rng.uniform(0.15, 0.45));
  }
  if (!acuteHeartFailure && !pneumonia && rng.chance(chronicKidneyDisease ? 0.1 : 0.04))
    effusion[rng.chance(0.5) ? 'left' : 'right'] = rng.uniform(0.12, 0.3);
  const atelectasis: Side | undefined = rng.chance(0.15) ? (rng.chance(0.5) ? 'left' : 'right') : undefined;

  // Heart rate: wide spread (pain, anxiety, beta-blockers) and modest disease effects.
  let heartRateBpm = 78 + 13 * rng.normal();
  if (acuteHeartFailure) heartRateBpm += 4 + 8 * heartFailureSeverity;
  if (pneumonia) heartRateBpm += 4 + 8 * pneumoniaSeverity;
  if (atrialFibrillation) heartRateBpm += 8 + 10 * rng.normal();
  heartRateBpm = Math.min(165, Math.max(45, heartRateBpm));

  // LVH and low voltage are non-specific: hypertension, age and CKD produce them too.
  const leftVentricularHypertrophy =
    (acuteHeartFailure && rng.chance(0.25)) || rng.chance(chronicKidneyDisease || ageYears > 70 ? 0.12 : 0.07);
  const lowVoltage =
    !leftVentricularHypertrophy && ((acuteHeartFailure && rng.chance(0.12)) || rng.chance(0.05));

  // Fever in about half of pneumonia; other infections and inflammation give fever too.
  let temperatureC = 36.8 + 0.35 * rng.normal();
  if (pneumonia && rng.chance(0.55)) temperatureC += 0.5 + 1.3 * pneumoniaSeverity * rng.uniform(0.5, 1);
  else if (rng.chance(0.08)) temperatureC += rng.uniform(0.5, 1.5);

  return {
    conditions: { acuteHeartFailure, pneumonia, atrialFibrillation },
    recorded,
    chronicKidneyDisease,
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
