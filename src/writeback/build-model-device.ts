import type { Device, Reference } from '@medplum/fhirtypes';
import { MODALITY_ORDER, type ModelManifest, type ModelManifestHeader, type ModalityName } from '../contracts/manifest-types.js';
import {
  AI_DEVICE_TYPE,
  AI_TRANSPARENCY_EXTENSIONS,
  CODE_SYSTEMS,
  PROFILE_URLS,
} from '../contracts/fusion-terminology.js';
import { aiKindConcepts } from './ai-kind.js';
import { IDENTIFIER_SYSTEMS } from './naming-systems.js';

/** `name:version:sha256` — the model Device's identity (Device.identifier:modelIdentity.value). */
export function modelIdentityValue(name: string, version: string, sha256: string): string {
  return `${name}:${version}:${sha256}`;
}

/** The statement every reference model carries where it appears (DESIGN.md). */
export function trainingDataNote(manifest: Pick<ModelManifestHeader, 'trainingData'>): string {
  return manifest.trainingData.synthetic
    ? `Trained on synthetic data (${manifest.trainingData.description}). Demonstrates the machinery; not for clinical use.`
    : `Training data: ${manifest.trainingData.description}`;
}

/** The modalities a manifest reads (its `preprocessing` keys), in the fixed modality order. */
export function manifestModalities(manifest: { preprocessing: Partial<Record<ModalityName, unknown>> }): ModalityName[] {
  return MODALITY_ORDER.filter((m) => manifest.preprocessing[m] !== undefined);
}

/**
 * The model as a FusionModelDevice, which follows the HL7 AI Transparency on FHIR "AI Device" profile:
 * Device.type `AIdeviceTypeCS#Artificial-Intelligence`, the IG's `aitransparency.AIKind` extensions
 * (see {@link aiKindConcepts}) and its `aitransparency.modelCardDescription` extension pointing at the
 * card DocumentReference; deviceName model-name, version, and the identity for conditional create.
 * Risk models and the similar-case embedding model share it (a manifest header plus `preprocessing`).
 */
export function buildModelDevice(input: {
  manifest: ModelManifestHeader & { preprocessing: Partial<Record<ModalityName, unknown>> };
  /** sha256 that pins the weights: of `model.onnx` for a risk model, over both encoder graphs for the embedding model. */
  modelSha256: string;
  card: Reference;
}): Device {
  const { manifest } = input;
  const modalities = manifestModalities(manifest);
  return {
    resourceType: 'Device',
    meta: { profile: [PROFILE_URLS.Device] },
    extension: [
      ...aiKindConcepts(modalities).map((valueCodeableConcept) => ({
        url: AI_TRANSPARENCY_EXTENSIONS.aiKind,
        valueCodeableConcept,
      })),
      { url: AI_TRANSPARENCY_EXTENSIONS.modelCardDescription, valueReference: input.card },
    ],
    identifier: [
      {
        type: {
          coding: [
            { system: CODE_SYSTEMS.identifierType, code: 'model-identity', display: 'Model identity' },
          ],
        },
        system: IDENTIFIER_SYSTEMS.modelIdentity,
        value: modelIdentityValue(manifest.name, manifest.version, input.modelSha256),
      },
    ],
    status: 'active',
    deviceName: [
      { name: manifest.name, type: 'model-name' },
      { name: manifest.title, type: 'user-friendly-name' },
    ],
    type: {
      coding: [AI_DEVICE_TYPE],
      text: `Machine-learning model (ONNX) reading ${modalities.join(', ')}`,
    },
    version: [{ value: manifest.version }],
    note: [{ text: manifest.description }, { text: trainingDataNote(manifest) }],
  };
}

/** The coding of `RiskAssessment.method` for a model (fhir-fusion model code system). */
export function modelMethodCoding(manifest: ModelManifest): {
  system: string;
  code: string;
  display: string;
} {
  return {
    system: CODE_SYSTEMS.model,
    code: manifest.name,
    display: `${manifest.title} ${manifest.version}`,
  };
}
