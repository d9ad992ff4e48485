import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import type { SandboxRelease } from './subscriptions/backport/notification-bundle.js';

/** `fhirVersion` per release (R5 §versions.html: the published versions 4.0.1, 4.3.0, 5.0.0). */
const FHIR_VERSION: Record<SandboxRelease, string> = { R4: '4.0.1', R4B: '4.3.0', R5: '5.0.0' };

/**
 * What the server says it instantiates: the Backport IG's server CapabilityStatement for R4
 * (`backport-subscription-server-r4`) and R4B (`backport-subscription-server`); nothing in R5,
 * where topic-based subscriptions are core.
 */
const INSTANTIATES: Record<SandboxRelease, string[]> = {
  R4: ['http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server-r4'],
  R4B: ['http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server'],
  R5: [],
};

/** Resource types the sandbox advertises (it stores any R4 type; these are the ones it is for). */
const ADVERTISED_TYPES = [
  'Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'Location', 'Encounter', 'Condition',
  'Observation', 'DiagnosticReport', 'ImagingStudy', 'DocumentReference', 'Media', 'Procedure',
  'MedicationRequest', 'AllergyIntolerance', 'Immunization', 'CarePlan', 'CareTeam', 'Claim',
  'ExplanationOfBenefit', 'Device', 'RiskAssessment', 'Provenance', 'Subscription', 'Basic', 'Bundle',
] as const;

/**
 * The sandbox's CapabilityStatement (FHIR R4 §2.37 CapabilityStatement; served at `GET
 * [base]/metadata`, http.html#capabilities), announcing the release it presents.
 * @param baseUrl - absolute FHIR base URL.
 * @param release - R4 (default), R4B or R5.
 */
export function buildCapabilityStatement(baseUrl: string, release: SandboxRelease = 'R4'): CapabilityStatement {
  const types: readonly string[] = release === 'R4' ? ADVERTISED_TYPES : [...ADVERTISED_TYPES, 'SubscriptionTopic'];
  const resource: CapabilityStatementRestResource[] = types.map((type) => ({
    type: type as CapabilityStatementRestResource['type'],
    interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'].map(
      (code) => ({ code: code as 'read' }),
    ),
    versioning: 'versioned',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
    searchInclude: ['*'],
    searchRevInclude: ['*'],
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    // Subscriptions R5 Backport IG §Conformance: servers supporting topic-based subscriptions in R4
    // declare it with `instantiates`, which clients use to choose topic-based over criteria-based.
    ...(INSTANTIATES[release].length > 0 ? { instantiates: INSTANTIATES[release] } : {}),
    software: { name: 'fhir-fusion sandbox EHR' },
    implementation: { description: 'fhir-fusion sandbox EHR (demo and test fixture only)', url: baseUrl },
    fhirVersion: FHIR_VERSION[release] as CapabilityStatement['fhirVersion'],
    format: ['application/fhir+json'],
    rest: [
      {
        mode: 'server',
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}
