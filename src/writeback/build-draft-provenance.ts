import type { Device, Provenance, Reference } from '@medplum/fhirtypes';
import { versionedReferenceString } from '../contracts/assessment-identity.js';
import { AIAST, EXTENSION_URLS, PROFILE_URLS } from '../contracts/fusion-terminology.js';
import type { DraftedDescription } from './build-draft-report.js';
import { draftIdentity } from './build-draft-report.js';
import { aiAgents } from './build-provenance.js';

/**
 * The FusionProvenance of an AI-drafted DiagnosticReport, built as the RiskAssessment's is (HL7 AI
 * Transparency on FHIR, AI Provenance): `reason` AIAST; agent `author` = the drafting model's Device
 * with role `Artificial-Intelligence` — where the model is named, since R4 DiagnosticReport.performer
 * cannot reference a Device — and `assembler` = fhir-fusion; entity `source` for every input
 * version (the ImagingStudy), `derivation` for the model card; the execution provider, software
 * version and trace id extensions; `meta.tag` = the draft identity, the key of its conditional
 * create (R4 Provenance has no identifier).
 */
export function buildDraftProvenance(input: {
  draft: DraftedDescription;
  target: Reference;
  device: Reference<Device>;
  card: Reference;
  softwareVersion: string;
  identifierSystem: string;
  recorded: string;
}): Provenance {
  const { draft } = input;
  return {
    resourceType: 'Provenance',
    meta: {
      profile: [PROFILE_URLS.Provenance],
      tag: [
        { system: input.identifierSystem, code: draftIdentity(draft), display: 'fhir-fusion draft identity' },
      ],
    },
    extension: [
      { url: EXTENSION_URLS.executionProvider, valueCode: draft.executionProvider },
      { url: EXTENSION_URLS.softwareVersion, valueString: input.softwareVersion },
      ...(draft.traceId ? [{ url: EXTENSION_URLS.traceId, valueString: draft.traceId }] : []),
    ],
    target: [input.target],
    occurredDateTime: draft.occurredAt,
    recorded: input.recorded,
    reason: [{ coding: [AIAST], text: 'AI asserted' }],
    activity: { text: 'AI-drafted radiology description (preliminary, awaiting clinician review)' },
    agent: aiAgents(input.device, input.softwareVersion),
    entity: [
      ...draft.basis.map((ref) => ({
        role: 'source' as const,
        what: { reference: versionedReferenceString(ref) },
      })),
      { role: 'derivation', what: input.card },
    ],
  };
}
