import type { MedplumClient } from '@medplum/core';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { tokenQuery } from '../../writeback/naming-systems.js';
import { HL7_ERROR, problem } from './hl7-error.js';
import type { Hl7Problem } from './hl7-error.js';
import type { PatientIdentifierCandidate } from './read-oru.js';

/**
 * The FHIR `Identifier.system` of a PID-3 repetition's assigning authority (CX.4, HD), per the
 * HL7 v2-to-FHIR IG's HD → system mapping: a universal id of type ISO is `urn:oid:`, UUID
 * `urn:uuid:`, URI/URL the URI itself; otherwise the namespace id (or universal id) is looked up
 * in `HL7_ASSIGNING_AUTHORITIES`. Undefined when none applies: an identifier without a known
 * system could match another authority's patient, so it is never searched for.
 */
export function identifierSystemOf(
  c: PatientIdentifierCandidate,
  authorities: Readonly<Record<string, string>>,
): string | undefined {
  const configured =
    (c.namespace && authorities[c.namespace]) || (c.universalId && authorities[c.universalId]);
  if (configured) return configured;
  const type = c.universalIdType.toUpperCase();
  if (c.universalId && type === 'ISO' && /^[0-2](?:\.\d+)+$/.test(c.universalId))
    return `urn:oid:${c.universalId}`;
  if (c.universalId && type === 'UUID' && /^[0-9a-f-]{36}$/i.test(c.universalId))
    return `urn:uuid:${c.universalId.toLowerCase()}`;
  if (c.universalId && (type === 'URI' || type === 'URL') && /^[a-z][a-z0-9+.-]*:\S+$/i.test(c.universalId))
    return c.universalId;
  return undefined;
}

/** What {@link resolvePatient} found. */
export type PatientResolution = { ok: true; patientId: string } | { ok: false; problem: Hl7Problem };

/**
 * Finds the patient a message is about: each PID-3 repetition with a known system, in order, is
 * searched as `Patient?identifier=system|value` (FHIR R4 §3.1.1.5.4 token); the first that matches
 * exactly one Patient wins. No match, or several Patients for one identifier, is an `AE` naming
 * PID-3 (Table 0357 204, unknown key identifier). EHR errors are thrown (the caller answers `AR`:
 * the sender should retry).
 */
export async function resolvePatient(
  ehr: MedplumClient,
  candidates: PatientIdentifierCandidate[],
  authorities: Readonly<Record<string, string>>,
): Promise<PatientResolution> {
  const pid3 = (repetition?: number, component?: number) => ({
    segment: 'PID',
    occurrence: 1,
    field: 3,
    ...(repetition ? { repetition } : {}),
    ...(component ? { component } : {}),
  });
  let searched = 0;
  for (const candidate of candidates) {
    const system = identifierSystemOf(candidate, authorities);
    if (!system) continue;
    searched++;
    const bundle: Bundle<Patient> = await ehr.search(
      'Patient',
      `${tokenQuery('identifier', system, candidate.value)}&_count=2&_elements=id`,
      {
        cache: 'no-cache',
      },
    );
    const ids = (bundle.entry ?? [])
      .map((e) => e.resource?.id)
      .filter((id): id is string => typeof id === 'string');
    if (ids.length === 1) return { ok: true, patientId: ids[0]! };
    if (ids.length > 1) {
      return {
        ok: false,
        problem: problem(
          pid3(candidate.repetition),
          HL7_ERROR.unknownKeyIdentifier,
          'the identifier matches more than one Patient in the EHR',
        ),
      };
    }
  }
  if (searched === 0) {
    return {
      ok: false,
      problem: problem(
        pid3(candidates[0]?.repetition, 4),
        HL7_ERROR.unknownKeyIdentifier,
        'no PID-3 repetition has an assigning authority fhir-fusion can map to an identifier system',
      ),
    };
  }
  return {
    ok: false,
    problem: problem(pid3(), HL7_ERROR.unknownKeyIdentifier, 'no Patient in the EHR has a PID-3 identifier'),
  };
}
