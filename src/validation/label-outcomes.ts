import type { Condition, Encounter } from '@medplum/fhirtypes';

/**
 * How a patient is labelled for one outcome (issue 19 point 5):
 * - `positive`: a Condition carrying the outcome's code was recorded in the label window
 *   (assessment time, assessment time + `windowDays`];
 * - `prevalent`: one was recorded at or before the assessment time, so the outcome was already
 *   known and the patient is left out of that outcome's metrics (counted, not dropped silently);
 * - `negative`: none in or before the window. A patient who left the hospital's records is
 *   indistinguishable from one without the outcome: the EHR's own records are all there is.
 */
export type OutcomeLabel = 'positive' | 'negative' | 'prevalent';

/** The code an outcome is labelled by (the manifest's `outcomes[].coding`). */
export interface OutcomeCode {
  system: string;
  code: string;
}

/** The label window, stated in every report. */
export interface LabelWindow {
  days: number;
}

/** Verification statuses that do not make a diagnosis (FHIR R4 Condition.verificationStatus). */
const NOT_A_DIAGNOSIS = new Set(['refuted', 'entered-in-error']);

/**
 * When a Condition became known: `recordedDate` (FHIR R4 Condition.recordedDate, "date record
 * was first recorded"), else `onset[x]`, else the end (or start) of an Encounter that lists it in
 * `Encounter.diagnosis` (the discharge diagnosis list), else unknown.
 */
function conditionTime(condition: Condition, encounterTime: Map<string, string>): number | undefined {
  const raw =
    condition.recordedDate ??
    condition.onsetDateTime ??
    condition.onsetPeriod?.start ??
    (condition.id ? encounterTime.get(condition.id) : undefined);
  const t = raw ? Date.parse(raw) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

function hasCode(condition: Condition, code: OutcomeCode): boolean {
  return (condition.code?.coding ?? []).some((c) => c.system === code.system && c.code === code.code);
}

/** Condition id → the time of the Encounter whose `diagnosis` references it. */
function diagnosisTimes(encounters: readonly Encounter[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of encounters) {
    const time = e.period?.end ?? e.period?.start;
    if (!time) continue;
    for (const d of e.diagnosis ?? []) {
      const id = /(?:^|\/)Condition\/([^/]+)$/.exec(d.condition?.reference ?? '')?.[1];
      if (id) out.set(id, time);
    }
  }
  return out;
}

/** Labels one patient for one outcome from their Conditions and Encounters (see {@link OutcomeLabel}). */
export function labelOutcome(
  conditions: readonly Condition[],
  encounters: readonly Encounter[],
  code: OutcomeCode,
  asOf: Date,
  window: LabelWindow,
): OutcomeLabel {
  const times = diagnosisTimes(encounters);
  const end = asOf.getTime() + window.days * 86_400_000;
  let label: OutcomeLabel = 'negative';
  for (const c of conditions) {
    const status = c.verificationStatus?.coding?.[0]?.code;
    if ((status && NOT_A_DIAGNOSIS.has(status)) || !hasCode(c, code)) continue;
    const t = conditionTime(c, times);
    if (t === undefined) continue;
    if (t <= asOf.getTime()) return 'prevalent';
    if (t <= end) label = 'positive';
  }
  return label;
}

/** Age band at the assessment time from `Patient.birthDate` ('unknown' without one). */
export function ageBand(birthDate: string | undefined, asOf: Date): string {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate ?? '');
  if (!m) return 'age unknown';
  // Completed years on the calendar (a birthday counts on its day); a partial date (FHIR allows
  // YYYY or YYYY-MM) is taken as the first day of the year or month.
  const [year, month, day] = [Number(m[1]), Number(m[2] ?? 1), Number(m[3] ?? 1)];
  const beforeBirthday =
    asOf.getUTCMonth() + 1 < month || (asOf.getUTCMonth() + 1 === month && asOf.getUTCDate() < day);
  const age = asOf.getUTCFullYear() - year - (beforeBirthday ? 1 : 0);
  if (age < 50) return 'age <50';
  if (age < 65) return 'age 50–64';
  if (age < 80) return 'age 65–79';
  return 'age ≥80';
}
