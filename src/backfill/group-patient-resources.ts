import type { DiagnosticReport, Endpoint, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import type { PatientResources } from '../assembly/fetch-patient-resources.js';

/**
 * The patient an exported resource belongs to: its own id for a Patient, else the `subject`
 * reference (relative `Patient/x` or absolute `…/Patient/x`); '' for patient-less resources
 * (Endpoint), which are shared by every patient of the run.
 */
export function exportedPatientId(resource: Resource): string {
  if (resource.resourceType === 'Patient') return resource.id ?? '';
  const ref = (resource as { subject?: { reference?: string } }).subject?.reference ?? '';
  const match = /(?:^|\/)Patient\/([^/]+)(?:\/_history\/[^/]+)?$/.exec(ref);
  return match?.[1] ?? '';
}

/** Groups rows loaded for a batch into one `PatientResources` per patient that has a Patient. */
export function groupPatientResources(rows: Array<{ patientId: string; resource: Resource }>): Map<string, PatientResources> {
  const shared = rows.filter((r) => r.patientId === '').map((r) => r.resource);
  const endpoints = shared.filter((r): r is Endpoint => r.resourceType === 'Endpoint');
  const byPatient = new Map<string, Resource[]>();
  for (const row of rows) {
    if (row.patientId === '') continue;
    const list = byPatient.get(row.patientId) ?? [];
    list.push(row.resource);
    byPatient.set(row.patientId, list);
  }
  const out = new Map<string, PatientResources>();
  for (const [patientId, resources] of byPatient) {
    const patient = resources.find((r): r is Patient => r.resourceType === 'Patient');
    if (!patient) continue;
    out.set(patientId, {
      patient,
      observations: resources.filter((r): r is Observation => r.resourceType === 'Observation'),
      reports: resources.filter((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport'),
      studies: resources.filter((r): r is ImagingStudy => r.resourceType === 'ImagingStudy'),
      endpoints,
      roundTrips: 0,
    });
  }
  return out;
}
