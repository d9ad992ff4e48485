import type { Device, Provenance, ProvenanceEntity, Reference } from '@medplum/fhirtypes';
import type { AssessmentResult } from '../contracts/assessment-result.js';
import { versionedReferenceString } from '../contracts/assessment-identity.js';
import {
  AI_DEVICE_TYPE,
  AIAST,
  EXTENSION_URLS,
  PROFILE_URLS,
  PROVENANCE_PARTICIPANT_TYPE,
} from '../contracts/fusion-terminology.js';
import { IDENTIFIER_SYSTEMS } from './naming-systems.js';

/**
 * The FusionProvenance of one RiskAssessment, after HL7 AI Transparency on FHIR (AI Provenance):
 * - `reason` AIAST;
 * - agent `author` = the model Device with role `AIdeviceTypeCS#Artificial-Intelligence` (the IG's
 *   `AIagent` slice fixes that role), agent `assembler` = the fhir-fusion software
 *   (R4 provenance-participant-type);
 * - entity `source` for every input version, `derivation` for the model card (the IG's choice in
 *   R4, where `instantiates` does not exist yet) and `revision` for the assessment this one
 *   supersedes. R4 `RiskAssessment.parent` means "part of" (e.g. a Procedure), so it is not used
 *   for succession; provenance-entity-role `revision` ("the resulting entity is a revised version
 *   of some original", R4 §6.3) is the standard way to say it;
 * - extensions for the ONNX Runtime execution provider, software version and trace id;
 * - `meta.tag` carrying the assessment identity: R4 Provenance has no `identifier`, and the tag
 *   lets the transaction create it conditionally (`_tag=system|identity`).
 */
/**
 * The two agents of every Provenance fhir-fusion writes for an AI output: the model's Device as
 * `author` with the role Artificial-Intelligence (HL7 AI Transparency IG), and fhir-fusion itself,
 * by software identifier and version, as `assembler` (R4 provenance-participant-type).
 */
export function aiAgents(
  device: Reference<Device>,
  softwareVersion: string,
): NonNullable<Provenance['agent']> {
  return [
    {
      type: { coding: [{ system: PROVENANCE_PARTICIPANT_TYPE, code: 'author', display: 'Author' }] },
      role: [{ coding: [AI_DEVICE_TYPE] }],
      who: device,
    },
    {
      type: { coding: [{ system: PROVENANCE_PARTICIPANT_TYPE, code: 'assembler', display: 'Assembler' }] },
      who: {
        identifier: { system: IDENTIFIER_SYSTEMS.software, value: 'fhir-fusion' },
        // Accept both "0.1.0" and "fhir-fusion 0.1.0" without writing the name twice.
        display: softwareVersion.startsWith('fhir-fusion')
          ? softwareVersion
          : `fhir-fusion ${softwareVersion}`,
      },
    },
  ];
}

export function buildProvenance(input: {
  result: AssessmentResult;
  target: Reference;
  /** Further resources the same activity wrote (the imaging-finding Observations, issue #20). */
  otherTargets?: Reference[];
  device: Reference<Device>;
  card: Reference;
  previous?: Reference;
  softwareVersion: string;
  identifierSystem: string;
  identity: string;
}): Provenance {
  const { result } = input;
  const entity: ProvenanceEntity[] = [
    ...result.basis.map((ref) => ({
      role: 'source' as const,
      what: { reference: versionedReferenceString(ref) },
    })),
    { role: 'derivation', what: input.card },
    ...(input.previous ? [{ role: 'revision' as const, what: input.previous }] : []),
  ];
  return {
    resourceType: 'Provenance',
    meta: {
      profile: [PROFILE_URLS.Provenance],
      tag: [
        { system: input.identifierSystem, code: input.identity, display: 'fhir-fusion assessment identity' },
      ],
    },
    extension: [
      { url: EXTENSION_URLS.executionProvider, valueCode: result.executionProvider },
      { url: EXTENSION_URLS.softwareVersion, valueString: input.softwareVersion },
      ...(result.traceId ? [{ url: EXTENSION_URLS.traceId, valueString: result.traceId }] : []),
    ],
    target: [input.target, ...(input.otherTargets ?? [])],
    occurredDateTime: result.occurredAt,
    recorded: result.occurredAt,
    reason: [{ coding: [AIAST], text: 'AI asserted' }],
    agent: aiAgents(input.device, input.softwareVersion),
    entity,
  };
}
