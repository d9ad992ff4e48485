import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { renderOruR01 } from './oru-r01.js';

/** Whether an Observation is one of the cohort's laboratory results with a number. */
function isLab(resource: Resource): resource is Observation {
  return (
    resource.resourceType === 'Observation' &&
    resource.valueQuantity?.value !== undefined &&
    (resource.category ?? []).some((c) => c.coding?.some((coding) => coding.code === 'laboratory'))
  );
}

/**
 * A cohort patient's laboratory results as a lab system would send them: one `ORU^R01` per draw
 * time (the results drawn together form one order), oldest first, MSH-10 `<prefix>-<n>`. The
 * patient is named by its MRN (`Patient.identifier[0]`) in PID-3. Vital signs and the ECG stay
 * in FHIR: in hospitals they come from monitors and carts, not the lab system.
 */
export function cohortLabMessages(resources: Resource[], controlIdPrefix: string): string[] {
  const patient = resources.find((r): r is Patient => r.resourceType === 'Patient');
  const identifier = patient?.identifier?.[0];
  if (!identifier) return [];
  const draws = new Map<string, Observation[]>();
  for (const resource of resources) {
    if (!isLab(resource)) continue;
    const at = resource.effectiveDateTime ?? '';
    draws.set(at, [...(draws.get(at) ?? []), resource]);
  }
  return [...draws.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, observations], i) =>
      renderOruR01({ controlId: `${controlIdPrefix}-${i + 1}`, patientIdentifier: identifier, observations }),
    );
}
