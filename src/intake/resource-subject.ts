/**
 * Resource types fhir-fusion subscribes to, and the element naming their patient.
 * FHIR R4: Observation.subject, DiagnosticReport.subject, ImagingStudy.subject (all Reference(Patient | ...)).
 */
export const WATCHED_RESOURCE_TYPES = ['Observation', 'DiagnosticReport', 'ImagingStudy'] as const;

/** A resource type fhir-fusion reacts to. */
export type WatchedResourceType = (typeof WATCHED_RESOURCE_TYPES)[number];

/** True if the type is one fhir-fusion reacts to. */
export function isWatchedResourceType(type: unknown): type is WatchedResourceType {
  return typeof type === 'string' && (WATCHED_RESOURCE_TYPES as readonly string[]).includes(type);
}

/**
 * Patient id from a reference string: `Patient/123`, `Patient/123/_history/2` or an absolute
 * `https://ehr/fhir/Patient/123` (FHIR R4 §2.3.0 References). Returns undefined for other targets.
 */
export function patientIdFromReference(reference: unknown): string | undefined {
  if (typeof reference !== 'string') return undefined;
  const match = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  return match?.[1];
}
