import type { Device, Reference } from '@medplum/fhirtypes';
import type { ModelManifest } from '../contracts/manifest-types.js';
import { AI_DEVICE_TYPE, CODE_SYSTEMS, EXTENSION_URLS, PROFILE_URLS } from '../contracts/fusion-terminology.js';
import { IDENTIFIER_SYSTEMS } from './naming-systems.js';

/** `name:version:sha256` — the model Device's identity (Device.identifier:modelIdentity.value). */
export function modelIdentityValue(name: string, version: string, sha256: string): string {
  return `${name}:${version}:${sha256}`;
}

/** The statement every reference model carries where it appears (DESIGN.md). */
export function trainingDataNote(manifest: ModelManifest): string {
  return manifest.trainingData.synthetic
    ? `Trained on synthetic data (${manifest.trainingData.description}). Demonstrates the machinery; not for clinical use.`
    : `Training data: ${manifest.trainingData.description}`;
}

/**
 * The model as a FusionModelDevice (HL7 AI Transparency on FHIR, AI Device): Device.type
 * Artificial-Intelligence, deviceName model-name, version, and the model-card extension pointing
 * at the card DocumentReference.
 */
export function buildModelDevice(input: {
  manifest: ModelManifest;
  modelSha256: string;
  card: Reference;
}): Device {
  const { manifest } = input;
  return {
    resourceType: 'Device',
    meta: { profile: [PROFILE_URLS.Device] },
    extension: [{ url: EXTENSION_URLS.modelCard, valueReference: input.card }],
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
    type: { coding: [AI_DEVICE_TYPE], text: 'Multimodal fusion model (ONNX)' },
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
