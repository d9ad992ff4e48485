import type { MedplumClient } from '@medplum/core';
import type { Reference, RiskAssessment } from '@medplum/fhirtypes';
import { AIAST, CODE_SYSTEMS } from '../contracts/fusion-terminology.js';

/** How many recent assessments to look through for one that was not withdrawn. */
const PAGE = 10;

/**
 * The most recent AI-asserted RiskAssessment fhir-fusion wrote for this patient and model (any
 * version of the model), as a version-specific reference, or `undefined` when there is none.
 *
 * Search with FHIR R4 RiskAssessment search parameters only: `subject`, `method` (token on
 * RiskAssessment.method, which carries the model code), `_security` AIAST and newest `date` first.
 * R4 defines no `status` search parameter for RiskAssessment, so entered-in-error assessments are
 * skipped here rather than in the query. `modelName` is the manifest `name` (the method code).
 */
export async function findPreviousAssessment(
  client: MedplumClient,
  patientId: string,
  modelName: string,
): Promise<Reference<RiskAssessment> | undefined> {
  const found = await client.searchResources(
    'RiskAssessment',
    new URLSearchParams({
      subject: `Patient/${patientId}`,
      method: `${CODE_SYSTEMS.model}|${modelName}`,
      _security: `${AIAST.system}|${AIAST.code}`,
      _sort: '-date',
      _count: String(PAGE),
    }),
    { cache: 'no-cache' },
  );
  const latest = found.find((ra) => ra.id && ra.status !== 'entered-in-error' && ra.status !== 'cancelled');
  if (!latest?.id) return undefined;
  const versionId = latest.meta?.versionId;
  return {
    reference: versionId
      ? `RiskAssessment/${latest.id}/_history/${versionId}`
      : `RiskAssessment/${latest.id}`,
  };
}
