import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';

/** Resource types the sandbox advertises (it stores any R4 type; these are the ones it is for). */
const ADVERTISED_TYPES = [
  'Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'Location', 'Encounter', 'Condition',
  'Observation', 'DiagnosticReport', 'ImagingStudy', 'DocumentReference', 'Media', 'Procedure',
  'MedicationRequest', 'AllergyIntolerance', 'Immunization', 'CarePlan', 'CareTeam', 'Claim',
  'ExplanationOfBenefit', 'Device', 'RiskAssessment', 'Provenance', 'Subscription', 'Basic', 'Bundle',
] as const;

/**
 * The sandbox's CapabilityStatement (FHIR R4 §2.37 CapabilityStatement; served at `GET
 * [base]/metadata`, http.html#capabilities).
 * @param baseUrl - absolute FHIR base URL.
 */
export function buildCapabilityStatement(baseUrl: string): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = ADVERTISED_TYPES.map((type) => ({
    type,
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
    instantiates: ['http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server-r4'],
    software: { name: 'fhir-fusion sandbox EHR' },
    implementation: { description: 'fhir-fusion sandbox EHR (demo and test fixture only)', url: baseUrl },
    fhirVersion: '4.0.1',
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
