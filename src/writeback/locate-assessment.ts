import type { MedplumClient } from '@medplum/core';
import { tokenQuery } from './naming-systems.js';

/** Where an assessment the EHR already holds lives. */
export interface LocatedAssessment {
  riskAssessmentRef: string;
  provenanceRef: string;
}

/**
 * Finds the RiskAssessment and Provenance written for one assessment identity, by the same
 * queries the transaction's conditional creates use (`identifier` on the RiskAssessment, `_tag` on
 * the Provenance: R4 Provenance has no identifier), so a write whose response was lost (a worker
 * killed after the EHR committed) can be accounted for. `undefined` when the EHR holds no
 * RiskAssessment for it: the transaction never committed (FHIR R4 §3.1.0.11.2, all or nothing).
 */
export async function locateAssessment(
  client: MedplumClient,
  identifierSystem: string,
  identity: string,
): Promise<LocatedAssessment | undefined> {
  const risk = await client.searchOne('RiskAssessment', tokenQuery('identifier', identifierSystem, identity), { cache: 'no-cache' });
  if (!risk?.id) return undefined;
  const provenance = await client.searchOne('Provenance', tokenQuery('_tag', identifierSystem, identity), { cache: 'no-cache' });
  // A transaction commits both or neither; a RiskAssessment without its Provenance was not
  // written by us (or was edited by hand): leave it for an operator rather than guess.
  if (!provenance?.id) return undefined;
  return { riskAssessmentRef: `RiskAssessment/${risk.id}`, provenanceRef: `Provenance/${provenance.id}` };
}
