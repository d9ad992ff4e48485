import type { MedplumClient } from '@medplum/core';
import type { Condition, Encounter } from '@medplum/fhirtypes';
import type { OutcomeCode } from './label-outcomes.js';

/** Largest page asked for; a patient's Conditions with a handful of outcome codes fit in one. */
const PAGE = '200';

/**
 * One patient's records that {@link labelOutcome} labels from: the Conditions carrying any of
 * `codes` (FHIR R4 Condition search parameters `patient` and `code`, token OR by commas), and —
 * only for those without `recordedDate` or `onset[x]`, whose time is then the end of the
 * Encounter that lists them in `Encounter.diagnosis` — those Encounters (search parameter
 * `diagnosis`). Never cached: outcomes arrive between runs.
 */
export async function fetchOutcomeRecords(
  ehr: MedplumClient,
  patientId: string,
  codes: readonly OutcomeCode[],
): Promise<{ conditions: Condition[]; encounters: Encounter[] }> {
  const conditions: Condition[] = [];
  const query = new URLSearchParams({
    patient: `Patient/${patientId}`,
    code: [...new Set(codes.map((c) => `${c.system}|${c.code}`))].join(','),
    _count: PAGE,
  });
  for await (const page of ehr.searchResourcePages('Condition', query, { cache: 'no-cache' }))
    conditions.push(...page);
  const untimed = conditions.filter(
    (c) => c.id && !c.recordedDate && !c.onsetDateTime && !c.onsetPeriod?.start,
  );
  if (untimed.length === 0) return { conditions, encounters: [] };
  const encounters: Encounter[] = [];
  const byDiagnosis = new URLSearchParams({
    diagnosis: untimed.map((c) => `Condition/${c.id}`).join(','),
    _count: PAGE,
  });
  for await (const page of ehr.searchResourcePages('Encounter', byDiagnosis, { cache: 'no-cache' }))
    encounters.push(...page);
  return { conditions, encounters };
}
