import { createHash } from 'node:crypto';
import type { VersionedReference } from './patient-record.js';
import type { AssessmentResult } from './assessment-result.js';

/** `Type/id/_history/versionId`, or `Type/id` when the EHR gave no versionId. */
export function versionedReferenceString(ref: VersionedReference): string {
  return ref.versionId
    ? `${ref.resourceType}/${ref.id}/_history/${ref.versionId}`
    : `${ref.resourceType}/${ref.id}`;
}

/**
 * The identity of one assessment: hex sha256 over the model name, the model version, the subject
 * and the sorted, de-duplicated `Type/id/_history/versionId` of every input. The same inputs seen
 * through a retried job or a duplicate notification give the same identity (so conditional create
 * finds the first write); any new input version gives a new one. The subject is part of it so two
 * patients whose basis happens to be empty or shared can never collapse into one assessment.
 */
export function assessmentIdentity(
  result: Pick<AssessmentResult, 'modelName' | 'modelVersion' | 'patientId' | 'basis'>,
): string {
  const inputs = [...new Set(result.basis.map(versionedReferenceString))].sort();
  // JSON keeps field boundaries unambiguous (a name ending in a digit cannot merge with a version).
  const canonical = JSON.stringify({
    model: result.modelName,
    version: result.modelVersion,
    subject: `Patient/${result.patientId}`,
    inputs,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}
