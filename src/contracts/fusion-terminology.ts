/**
 * Canonical URLs and codes fhir-fusion writes into FHIR resources. The StructureDefinitions,
 * CodeSystems and ValueSets behind them live in `fhir-profiles/`.
 */
import type { Coding } from '@medplum/fhirtypes';

/** Canonical base of every fhir-fusion conformance resource. */
export const FUSION_CANONICAL_BASE = 'https://fhir-fusion.dev/fhir';

/** Canonical URL of a fhir-fusion StructureDefinition (profile or extension) by id. */
export function structureDefinitionUrl(id: string): string {
  return `${FUSION_CANONICAL_BASE}/StructureDefinition/${id}`;
}

/** Canonical URL of a fhir-fusion CodeSystem by id. */
export function codeSystemUrl(id: string): string {
  return `${FUSION_CANONICAL_BASE}/CodeSystem/${id}`;
}

/** Profile URLs, by the resource type they constrain. */
export const PROFILE_URLS = {
  RiskAssessment: structureDefinitionUrl('FusionRiskAssessment'),
  Provenance: structureDefinitionUrl('FusionProvenance'),
  Device: structureDefinitionUrl('FusionModelDevice'),
  DocumentReference: structureDefinitionUrl('FusionModelCard'),
} as const;

/** Extension URLs. */
export const EXTENSION_URLS = {
  modalityContribution: structureDefinitionUrl('modality-contribution'),
  missingModality: structureDefinitionUrl('missing-modality'),
  outcomeNotAssessed: structureDefinitionUrl('outcome-not-assessed'),
  unusedInput: structureDefinitionUrl('unused-input'),
  featureContribution: structureDefinitionUrl('feature-contribution'),
  executionProvider: structureDefinitionUrl('execution-provider'),
  softwareVersion: structureDefinitionUrl('software-version'),
  modelCard: structureDefinitionUrl('model-card'),
  traceId: structureDefinitionUrl('trace-id'),
} as const;

/** fhir-fusion code systems. */
export const CODE_SYSTEMS = {
  modality: codeSystemUrl('modality'),
  missingReason: codeSystemUrl('missing-reason'),
  notAssessedReason: codeSystemUrl('not-assessed-reason'),
  identifierType: codeSystemUrl('identifier-type'),
  model: codeSystemUrl('model'),
} as const;

/** HL7 v3 ObservationValue: the security label code system AIAST belongs to. */
export const V3_OBSERVATION_VALUE = 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue';

/**
 * The "AI asserted" security label (HL7 AI Transparency on FHIR, "Inline AI Security Labels";
 * code AIAST in v3-ObservationValue): marks data produced by an AI system.
 */
export const AIAST: Coding = {
  system: V3_OBSERVATION_VALUE,
  code: 'AIAST',
  display: 'Artificial Intelligence asserted',
};

/** R4 risk-probability code system (RiskAssessment.prediction.qualitativeRisk). */
export const RISK_PROBABILITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/risk-probability';

/** R4 provenance-participant-type (Provenance.agent.type). */
export const PROVENANCE_PARTICIPANT_TYPE =
  'http://terminology.hl7.org/CodeSystem/provenance-participant-type';

/** HL7 AI Transparency on FHIR: Device.type code for an AI system. */
export const AI_DEVICE_TYPE: Coding = {
  system: 'http://hl7.org/fhir/uv/aitransparency/CodeSystem/AIdeviceTypeCS',
  code: 'Artificial-Intelligence',
  display: 'Artificial Intelligence',
};

/** HL7 AI Transparency on FHIR: DocumentReference.type code for a model card. */
export const AI_MODEL_CARD_TYPE: Coding = {
  system: 'http://hl7.org/fhir/uv/aitransparency/CodeSystem/AIinputsCS',
  code: 'AIModelCard',
  display: 'AI Model Card',
};
