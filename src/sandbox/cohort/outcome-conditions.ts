import type { Condition } from '@medplum/fhirtypes';
import type { CohortLabel } from './generate-patient.js';
import type { LatentConditions } from './latent-state.js';

/** SNOMED CT codes of the reference models' outcomes (models/*\/1/manifest.json `outcomes[].coding`). */
const OUTCOME_CODES: Record<keyof LatentConditions, { code: string; display: string }> = {
  acuteHeartFailure: { code: '56675007', display: 'Acute heart failure' },
  pneumonia: { code: '233604007', display: 'Pneumonia' },
  atrialFibrillation: { code: '49436004', display: 'Atrial fibrillation' },
};

/**
 * The discharge diagnoses of a synthetic patient, as the EHR would record them after the
 * encounter: one confirmed `Condition` per ground-truth condition, `recordedDate` at `recordedAt`.
 * The cohort itself never writes its labels into FHIR (they live in `labels.ndjson`); this is the
 * opt-in outcome record `fhir-fusion validate` labels patients from (issue 19 point 5), added only
 * where a caller asks for it, so the default sandbox contents are unchanged. Synthetic data.
 */
export function outcomeConditions(label: CohortLabel, recordedAt: Date, encounterId?: string): Condition[] {
  const out: Condition[] = [];
  for (const key of Object.keys(OUTCOME_CODES) as Array<keyof LatentConditions>) {
    if (!label.conditions[key]) continue;
    const coding = OUTCOME_CODES[key];
    out.push({
      resourceType: 'Condition',
      id: `${label.patientId}-dx-${coding.code}`,
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
      },
      verificationStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }],
      },
      category: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/condition-category',
              code: 'encounter-diagnosis',
            },
          ],
        },
      ],
      code: { coding: [{ system: 'http://snomed.info/sct', ...coding }], text: coding.display },
      subject: { reference: `Patient/${label.patientId}` },
      ...(encounterId ? { encounter: { reference: `Encounter/${encounterId}` } } : {}),
      recordedDate: recordedAt.toISOString(),
    });
  }
  return out;
}
