import type { Observation, Quantity } from '@medplum/fhirtypes';
import type { CohortMissingRates } from './cohort-options.js';
import type { LatentState } from './latent-state.js';
import type { Rng } from './seeded-random.js';

/** Context every generated observation shares. */
export interface ObservationContext {
  patientId: string;
  encounterId: string;
  /** Encounter start and the window end, epoch ms. */
  startMs: number;
  endMs: number;
}

type Category = 'vital-signs' | 'laboratory';

interface Unit {
  loinc: string;
  display: string;
  /** UCUM code (also used as the human-readable unit). */
  ucum: string;
  /** Value in this unit = value in the primary unit × factor + offset. */
  factor: number;
  offset?: number;
  decimals: number;
}

interface SeriesSpec {
  key: string;
  category: Category;
  primary: Unit;
  alternative?: Unit;
  /** The unit the shifted site's laboratory always reports in (converted by preprocessing). */
  siteUnit?: Unit;
  /** How many measurements over the encounter (inclusive range). */
  count: [number, number];
  /** The patient's underlying value in the primary unit. */
  level(state: LatentState, rng: Rng): number;
  /** Change over the encounter as a fraction of the level (trend), per patient. */
  trend(state: LatentState, rng: Rng): number;
  /** Measurement noise, standard deviation in the primary unit. */
  noise: number;
  /** Impossible values a device or a typist produces (FHIR has no way to forbid them). */
  errors?: number[];
  /** Clamp of plausible values in the primary unit. */
  range: [number, number];
}

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';

function logNormal(rng: Rng, median: number, sdLog: number): number {
  return median * Math.exp(sdLog * rng.normal());
}

const u = (loinc: string, display: string, ucum: string, decimals: number, factor = 1, offset = 0): Unit => ({
  loinc,
  display,
  ucum,
  decimals,
  factor,
  offset,
});

/** Labs and vitals drawn for every patient; LOINC codes and UCUM units per the LOINC table. */
const seriesSpecs: SeriesSpec[] = [
  {
    key: 'hr',
    category: 'vital-signs',
    primary: u('8867-4', 'Heart rate', '/min', 0),
    count: [3, 6],
    noise: 5,
    errors: [0, 999],
    range: [30, 220],
    level: (s) => s.ecg.heartRateBpm,
    trend: (s, r) =>
      s.conditions.acuteHeartFailure || s.conditions.pneumonia ? -0.15 * r.next() : 0.05 * r.normal(),
  },
  {
    key: 'rr',
    category: 'vital-signs',
    primary: u('9279-1', 'Respiratory rate', '/min', 0),
    count: [3, 6],
    noise: 2,
    errors: [0],
    range: [6, 50],
    level: (s, r) => 16 + 4 * s.heartFailureSeverity + 4 * s.pneumoniaSeverity + 3 * r.normal(),
    trend: (s, r) => (s.conditions.acuteHeartFailure ? -0.2 * r.next() : 0.05 * r.normal()),
  },
  {
    key: 'spo2',
    category: 'vital-signs',
    primary: u('59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry', '%', 0),
    count: [3, 6],
    noise: 1.2,
    errors: [0],
    range: [65, 100],
    level: (s, r) =>
      // COPD and age lower saturation without either condition.
      96.5 - 4 * s.edema - 3 * s.pneumoniaSeverity - (s.ageYears > 75 ? 1.5 : 0) + 2 * r.normal(),
    trend: (s, r) => (s.edema > 0 ? 0.03 * r.next() : 0.01 * r.normal()),
  },
  {
    key: 'temp',
    category: 'vital-signs',
    primary: u('8310-5', 'Body temperature', 'Cel', 1),
    alternative: u('8310-5', 'Body temperature', '[degF]', 1, 1.8, 32),
    count: [2, 5],
    noise: 0.2,
    range: [33, 42],
    level: (s) => s.temperatureC,
    trend: (s, r) => (s.conditions.pneumonia ? -0.03 * r.next() : 0),
  },
  {
    key: 'ntprobnp',
    category: 'laboratory',
    primary: u(
      '33762-6',
      'Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma',
      'pg/mL',
      0,
    ),
    count: [1, 2],
    noise: 0,
    range: [5, 35000],
    level: (s, r) => {
      // The strongest single heart-failure lab, as in the literature: NT-proBNP AUROC 0.94 against
      // adjudicated acute HF in dyspnoeic ED patients (PRIDE, Januzzi et al., Am J Cardiol
      // 2005;95:948; ICON, Eur Heart J 2006;27:330). Effect size set for about 0.88 against the
      // latent condition and ≤ 0.85 against the noisy recorded label. Confounders that raise it
      // without heart failure: age (ICON's age-specific cut-offs 450/900/1800 pg/mL), AF, CKD
      // (renal clearance; Anwaruddin et al., J Am Coll Cardiol 2006;47:91) and sepsis.
      let median = 110 + 9 * Math.max(0, s.ageYears - 40);
      if (s.conditions.atrialFibrillation) median *= 2.2;
      if (s.chronicKidneyDisease) median *= 2.5;
      if (s.conditions.pneumonia) median *= 1 + 0.8 * s.pneumoniaSeverity;
      if (s.conditions.acuteHeartFailure) median = Math.max(median, 500) * (2.2 + 4 * s.heartFailureSeverity);
      return logNormal(r, median, 1.05);
    },
    trend: (s, r) => (s.conditions.acuteHeartFailure ? -0.3 * r.next() : 0.05 * r.normal()),
  },
  {
    key: 'troponin',
    category: 'laboratory',
    primary: u(
      '89579-7',
      'Troponin I.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method',
      'ng/L',
      1,
    ),
    alternative: u('10839-9', 'Troponin I.cardiac [Mass/volume] in Serum or Plasma', 'ng/mL', 3, 0.001),
    siteUnit: u('10839-9', 'Troponin I.cardiac [Mass/volume] in Serum or Plasma', 'ng/mL', 3, 0.001),
    count: [1, 3],
    noise: 0,
    range: [0.5, 50000],
    // Troponin is a prognostic, not a diagnostic, heart-failure marker: it rises in many acute HF
    // admissions (above the conventional threshold in only 6 % of ADHERE patients: Peacock et al.,
    // N Engl J Med 2008;358:2117) and equally with age, CKD and sepsis. Designed AUROC for acute
    // HF about 0.65–0.7, clearly below NT-proBNP.
    level: (s, r) => {
      let median = 4 * (1 + 0.025 * Math.max(0, s.ageYears - 40));
      if (s.chronicKidneyDisease) median *= 2.2;
      if (s.conditions.pneumonia) median *= 1 + 0.8 * s.pneumoniaSeverity;
      if (s.conditions.acuteHeartFailure) median *= 1.25 + 0.9 * s.heartFailureSeverity;
      return logNormal(r, median, 0.85);
    },
    trend: (_s, r) => 0.2 * r.normal(),
  },
  {
    key: 'wbc',
    category: 'laboratory',
    primary: u('6690-2', 'Leukocytes [#/volume] in Blood by Automated count', '10*3/uL', 1),
    count: [1, 3],
    noise: 0.6,
    range: [0.5, 60],
    level: (s, r) => Math.max(2, 7.8 + 4 * s.pneumoniaSeverity * r.uniform(0.2, 1.2) + 2.8 * r.normal()),
    trend: (s, r) => (s.conditions.pneumonia ? -0.2 * r.next() : 0.05 * r.normal()),
  },
  {
    key: 'crp',
    category: 'laboratory',
    primary: u('1988-5', 'C reactive protein [Mass/volume] in Serum or Plasma', 'mg/L', 1),
    siteUnit: u('1988-5', 'C reactive protein [Mass/volume] in Serum or Plasma', 'mg/dL', 2, 0.1),
    count: [1, 3],
    noise: 0,
    range: [0.2, 500],
    // Informative, not decisive: CRP for radiographic pneumonia AUROC about 0.75–0.8 in
    // primary and emergency care (van Vugt et al., BMJ 2013;346:f2450, GRACE cohort; Falk & Fahey,
    // Fam Pract 2009;26:10 review). Other infections and inflammation (urinary, skin,
    // COPD exacerbation, gout) raise it in a share of the others.
    level: (s, r) => {
      let median = s.conditions.acuteHeartFailure ? 8 : 5;
      if (r.chance(0.2)) median *= r.uniform(3, 15);
      if (s.conditions.pneumonia) median = Math.max(median, 15 + 70 * s.pneumoniaSeverity);
      return logNormal(r, median, 1.0);
    },
    trend: (s, r) => (s.conditions.pneumonia ? 0.3 * r.normal() : 0.1 * r.normal()),
  },
  {
    key: 'pct',
    category: 'laboratory',
    primary: u('33959-8', 'Procalcitonin [Mass/volume] in Serum or Plasma', 'ng/mL', 2),
    siteUnit: u('33959-8', 'Procalcitonin [Mass/volume] in Serum or Plasma', 'ug/L', 2),
    count: [1, 1],
    noise: 0,
    range: [0.01, 200],
    // Procalcitonin separates bacterial from other pneumonia only moderately (AUROC 0.73, EPIC
    // study: Self et al., Clin Infect Dis 2017;65:183) and is low in viral pneumonia, so its
    // pneumonia-versus-not AUROC is designed near 0.7. CKD raises it (reduced clearance).
    level: (s, r) => {
      let median = 0.05 * (s.chronicKidneyDisease ? 2 : 1);
      if (r.chance(0.1)) median *= r.uniform(2, 10);
      if (s.conditions.pneumonia && r.chance(0.6)) median = Math.max(median, 0.1 + 0.9 * s.pneumoniaSeverity);
      return logNormal(r, median, 1.1);
    },
    trend: () => 0,
  },
  {
    key: 'creatinine',
    category: 'laboratory',
    primary: u('2160-0', 'Creatinine [Mass/volume] in Serum or Plasma', 'mg/dL', 2),
    alternative: u('14682-9', 'Creatinine [Moles/volume] in Serum or Plasma', 'umol/L', 0, 88.42),
    siteUnit: u('14682-9', 'Creatinine [Moles/volume] in Serum or Plasma', 'umol/L', 0, 88.42),
    count: [1, 3],
    noise: 0.05,
    range: [0.3, 12],
    level: (s, r) =>
      logNormal(
        r,
        (0.9 + 0.3 * s.heartFailureSeverity + (s.ageYears > 70 ? 0.15 : 0)) * (s.chronicKidneyDisease ? 1.9 : 1),
        0.22,
      ),
    trend: (s, r) => (s.conditions.acuteHeartFailure ? 0.15 * r.normal() : 0.03 * r.normal()),
  },
  {
    key: 'glucose',
    category: 'laboratory',
    primary: u('2345-7', 'Glucose [Mass/volume] in Serum or Plasma', 'mg/dL', 0),
    alternative: u('14749-6', 'Glucose [Moles/volume] in Serum or Plasma', 'mmol/L', 1, 1 / 18.016),
    siteUnit: u('14749-6', 'Glucose [Moles/volume] in Serum or Plasma', 'mmol/L', 1, 1 / 18.016),
    count: [1, 3],
    noise: 8,
    range: [30, 700],
    level: (s, r) => logNormal(r, 105 + 10 * s.pneumoniaSeverity, 0.2),
    trend: (_s, r) => 0.08 * r.normal(),
  },
  {
    key: 'sodium',
    category: 'laboratory',
    primary: u('2951-2', 'Sodium [Moles/volume] in Serum or Plasma', 'mmol/L', 0),
    count: [1, 3],
    noise: 1,
    range: [110, 170],
    level: (s, r) => 139 - 2.5 * s.heartFailureSeverity - 1.5 * s.pneumoniaSeverity + 3 * r.normal(),
    trend: (_s, r) => 0.01 * r.normal(),
  },
  {
    key: 'potassium',
    category: 'laboratory',
    primary: u('2823-3', 'Potassium [Moles/volume] in Serum or Plasma', 'mmol/L', 1),
    count: [1, 3],
    noise: 0.15,
    range: [2, 8],
    level: (s, r) => 4.2 + 0.3 * s.heartFailureSeverity + 0.4 * r.normal(),
    trend: (_s, r) => 0.04 * r.normal(),
  },
  {
    key: 'lactate',
    category: 'laboratory',
    primary: u('2524-7', 'Lactate [Moles/volume] in Serum or Plasma', 'mmol/L', 1),
    count: [1, 2],
    noise: 0.1,
    range: [0.3, 20],
    level: (s, r) =>
      logNormal(
        r,
        1.1 +
          0.9 * s.pneumoniaSeverity * s.pneumoniaSeverity +
          0.5 * s.heartFailureSeverity * s.heartFailureSeverity,
        0.35,
      ),
    trend: (s, r) => (s.pneumoniaSeverity > 0.5 ? -0.3 * r.next() : 0.05 * r.normal()),
  },
];

function round(value: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

function category(code: Category): Observation['category'] {
  return [
    {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/observation-category',
          code,
          display: code === 'vital-signs' ? 'Vital Signs' : 'Laboratory',
        },
      ],
    },
  ];
}

function quantity(value: number, unit: Unit): Quantity {
  return { value: round(value, unit.decimals), unit: unit.ucum, system: UCUM, code: unit.ucum };
}

/** Sorted measurement instants within the encounter, epoch ms, rounded to the minute. */
function measurementTimes(rng: Rng, count: number, ctx: ObservationContext): number[] {
  const times: number[] = [];
  const span = ctx.endMs - ctx.startMs;
  for (let i = 0; i < count; i++) {
    // Spread over the encounter with jitter so that trends span the whole stay.
    const frac = (i + rng.uniform(0.05, 0.95)) / count;
    times.push(Math.floor((ctx.startMs + frac * span) / 60000) * 60000);
  }
  return times;
}

/**
 * Vital signs and labs for one patient as LOINC-coded `Observation`s with UCUM quantities. Some
 * series are missing, some are reported in alternative units (creatinine µmol/L, glucose mmol/L,
 * temperature °F, troponin ng/mL), a second site (`siteLabUnits`) reports several labs in its own
 * units, and a few values are device or typing errors.
 */
export function generateClinicalObservations(
  state: LatentState,
  rng: Rng,
  ctx: ObservationContext,
  rates: CohortMissingRates,
  siteLabUnits = false,
): Observation[] {
  const out: Observation[] = [];
  for (const spec of seriesSpecs) {
    // Draw everything before deciding on missingness so the random stream (and thus every other
    // value of this patient) does not depend on which series are missing.
    const level = spec.level(state, rng);
    const trend = spec.trend(state, rng);
    const count = rng.int(spec.count[0], spec.count[1]);
    const missing = rng.chance(rates.labValue);
    const useAlternative = spec.alternative !== undefined && rng.chance(rates.alternativeUnit);
    const times = measurementTimes(rng, count, ctx);
    times.forEach((t, i) => {
      const frac = count > 1 ? i / (count - 1) : 0;
      let value = level * (1 + trend * frac) + spec.noise * rng.normal();
      value = Math.min(spec.range[1], Math.max(spec.range[0], value));
      const isError = spec.errors !== undefined && rng.chance(rates.dataError);
      const errorValue = spec.errors ? rng.pick(spec.errors) : 0;
      if (missing) return;
      const unit =
        siteLabUnits && spec.siteUnit
          ? spec.siteUnit
          : useAlternative && spec.alternative
            ? spec.alternative
            : spec.primary;
      const converted = isError ? errorValue : value * unit.factor + (unit.offset ?? 0);
      const iso = new Date(t).toISOString();
      const observation: Observation = {
        resourceType: 'Observation',
        id: `${ctx.patientId}-${spec.key}-${i + 1}`,
        status: 'final',
        category: category(spec.category),
        code: { coding: [{ system: LOINC, code: unit.loinc, display: unit.display }], text: unit.display },
        subject: { reference: `Patient/${ctx.patientId}` },
        encounter: { reference: `Encounter/${ctx.encounterId}` },
        effectiveDateTime: iso,
        valueQuantity: quantity(converted, unit),
      };
      if (spec.key === 'spo2') {
        // FHIR R4 vital-signs profile (oxygensat): 2708-6 alongside the pulse-oximetry code.
        observation.code.coding?.push({
          system: LOINC,
          code: '2708-6',
          display: 'Oxygen saturation in Arterial blood',
        });
      }
      if (spec.category === 'laboratory')
        observation.issued = new Date(Math.min(ctx.endMs, t + 45 * 60000)).toISOString();
      out.push(observation);
    });
  }
  out.push(...bloodPressure(state, rng, ctx, rates));
  return out;
}

/** Blood pressure as the LOINC 85354-9 panel with systolic and diastolic components (FHIR R4 bp profile). */
function bloodPressure(
  state: LatentState,
  rng: Rng,
  ctx: ObservationContext,
  rates: CohortMissingRates,
): Observation[] {
  const systolicLevel =
    128 +
    (state.ageYears - 60) * 0.3 +
    (state.conditions.acuteHeartFailure && rng.chance(0.5) ? 18 : 0) -
    18 * state.pneumoniaSeverity * state.pneumoniaSeverity +
    12 * rng.normal();
  const count = rng.int(3, 6);
  const missing = rng.chance(rates.labValue);
  const times = measurementTimes(rng, count, ctx);
  const out: Observation[] = [];
  times.forEach((t, i) => {
    let systolic = Math.min(230, Math.max(70, systolicLevel + 6 * rng.normal()));
    let diastolic = Math.min(130, Math.max(35, systolic * 0.6 + 5 * rng.normal()));
    if (rng.chance(rates.dataError)) {
      systolic = rng.pick([0, 999]);
      diastolic = 0;
    }
    if (missing) return;
    const component = (code: string, display: string, value: number) => ({
      code: { coding: [{ system: LOINC, code, display }], text: display },
      valueQuantity: quantity(value, u(code, display, 'mm[Hg]', 0)),
    });
    out.push({
      resourceType: 'Observation',
      id: `${ctx.patientId}-bp-${i + 1}`,
      status: 'final',
      category: category('vital-signs'),
      code: {
        coding: [
          { system: LOINC, code: '85354-9', display: 'Blood pressure panel with all children optional' },
        ],
        text: 'Blood pressure',
      },
      subject: { reference: `Patient/${ctx.patientId}` },
      encounter: { reference: `Encounter/${ctx.encounterId}` },
      effectiveDateTime: new Date(t).toISOString(),
      component: [
        component('8480-6', 'Systolic blood pressure', systolic),
        component('8462-4', 'Diastolic blood pressure', diastolic),
      ],
    });
  });
  return out;
}
