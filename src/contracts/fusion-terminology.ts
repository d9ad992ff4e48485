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
  /** The imaging-finding Observation of a localised finding (issue #20). */
  ImagingFinding: structureDefinitionUrl('FusionImagingFinding'),
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
  traceId: structureDefinitionUrl('trace-id'),
  /** Why a model's localisation maps are not on the image (issue #20). */
  localisationNotShown: structureDefinitionUrl('localisation-not-shown'),
} as const;

/** fhir-fusion code systems. */
export const CODE_SYSTEMS = {
  modality: codeSystemUrl('modality'),
  missingReason: codeSystemUrl('missing-reason'),
  notAssessedReason: codeSystemUrl('not-assessed-reason'),
  identifierType: codeSystemUrl('identifier-type'),
  model: codeSystemUrl('model'),
  localisationNotMappedReason: codeSystemUrl('localisation-not-mapped-reason'),
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

/** Canonical base of the HL7 AI Transparency on FHIR IG (`hl7.fhir.uv.aitransparency`). */
export const AI_TRANSPARENCY_BASE = 'http://hl7.org/fhir/uv/aitransparency';

/**
 * The IG's extensions fhir-fusion writes on the model Device (IG "AI Device" profile, Device.extension
 * slices `aiKind` and `modelCardDescription`). Their definitions are transcribed into
 * `fhir-profiles/StructureDefinition/` under these canonical URLs so the write-back can validate
 * them offline.
 */
export const AI_TRANSPARENCY_EXTENSIONS = {
  /** `aitransparency.AIKind`: CodeableConcept from AIdeviceTypeVS (extensible) — the kind(s) of AI. */
  aiKind: `${AI_TRANSPARENCY_BASE}/StructureDefinition/aitransparency.AIKind`,
  /** `aitransparency.modelCardDescription`: Reference(AI Model-Card DocumentReference). */
  modelCardDescription: `${AI_TRANSPARENCY_BASE}/StructureDefinition/aitransparency.modelCardDescription`,
} as const;

/** The IG's profiles that fhir-fusion's Device, model card and Provenance follow (documentation). */
export const AI_TRANSPARENCY_PROFILES = {
  Device: `${AI_TRANSPARENCY_BASE}/StructureDefinition/AI-Device`,
  DocumentReference: `${AI_TRANSPARENCY_BASE}/StructureDefinition/AI-ModelCard`,
  Provenance: `${AI_TRANSPARENCY_BASE}/StructureDefinition/AI-Provenance`,
} as const;

/** The IG's CodeSystem for Device.type and AIKind (`AIdeviceTypeCS`). */
export const AI_DEVICE_TYPE_SYSTEM = `${AI_TRANSPARENCY_BASE}/CodeSystem/AIdeviceTypeCS`;

/** The IG's CodeSystem for model-card DocumentReference type and category (`AIinputsCS`). */
export const AI_INPUTS_SYSTEM = `${AI_TRANSPARENCY_BASE}/CodeSystem/AIinputsCS`;

/** HL7 AI Transparency on FHIR: Device.type code for an AI system (fixed by the AI Device profile). */
export const AI_DEVICE_TYPE: Coding = {
  system: AI_DEVICE_TYPE_SYSTEM,
  code: 'Artificial-Intelligence',
  display: 'All kinds of Artificial Intelligence',
};

/** HL7 AI Transparency on FHIR: DocumentReference.type code for a model card (AI Model-Card profile). */
export const AI_MODEL_CARD_TYPE: Coding = {
  system: AI_INPUTS_SYSTEM,
  code: 'AIModelCard',
  display: 'AI Model-Card',
};

/** HL7 AI Transparency on FHIR: DocumentReference.category for a card in Markdown (slice `AImodelCardMD`). */
export const AI_MODEL_CARD_MARKDOWN: Coding = {
  system: AI_INPUTS_SYSTEM,
  code: 'AIModelCardMarkdownFormat',
  display: 'Markdown Format',
};

/** HL7 v3 ActCode: the security label code system PROCESSINLINELABEL belongs to. */
export const V3_ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/**
 * `PROCESSINLINELABEL` (v3 ActCode): tells the reader that elements inside the resource carry
 * their own security labels — the AI Transparency IG's element-level tagging, after the DS4P
 * "Inline Security Labels" page.
 */
export const PROCESS_INLINE_LABEL: Coding = {
  system: V3_ACT_CODE,
  code: 'PROCESSINLINELABEL',
  display: 'process inline security label',
};

/** DS4P inline security label extension (a Coding on the element it labels). */
export const INLINE_SECURITY_LABEL_EXTENSION =
  'http://hl7.org/fhir/uv/security-label-ds4p/StructureDefinition/extension-inline-sec-label';
