import type {
  Bundle,
  Device,
  DocumentReference,
  OperationOutcome,
  Provenance,
  Resource,
  RiskAssessment,
} from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import type { ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { createProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { referenceModel, sampleResult } from './assessment-fixture.js';

let validator: ProfileValidator;
let bundle: Bundle;

function resourceOf<T extends Resource>(type: T['resourceType']): T {
  const found = bundle.entry?.find((e) => e.resource?.resourceType === type)?.resource;
  if (!found) throw new Error(`no ${type} in bundle`);
  return structuredClone(found) as T;
}

function expressions(outcome: OperationOutcome | undefined): string[] {
  return (outcome?.issue ?? []).filter((i) => i.severity === 'error').flatMap((i) => i.expression ?? []);
}

beforeAll(() => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
  const { manifest, cardMarkdown } = referenceModel();
  bundle = buildAssessmentBundle({
    result: sampleResult(),
    manifest,
    cardMarkdown,
    previous: { reference: 'RiskAssessment/earlier/_history/1' },
    softwareVersion: '0.1.0',
    identifierSystem: 'https://hospital.example.org/fhir-fusion/assessment',
  });
});

describe('createProfileValidator', () => {
  it('loads every fhir-fusion profile and extension with a snapshot', () => {
    const urls = [...validator.structureDefinitions.keys()];
    for (const id of [
      'FusionRiskAssessment',
      'FusionProvenance',
      'FusionModelDevice',
      'FusionModelCard',
      'modality-contribution',
      'missing-modality',
      'feature-contribution',
      'execution-provider',
    ]) {
      expect(urls).toContain(`https://fhir-fusion.dev/fhir/StructureDefinition/${id}`);
    }
  });

  it('accepts every resource of a built bundle against base R4 and the profiles', () => {
    for (const entry of bundle.entry ?? []) {
      expect(validator.validate(entry.resource as Resource), entry.resource?.resourceType).toBeUndefined();
    }
  });

  it('rejects a probability above 1 at the prediction path', () => {
    const ra = resourceOf<RiskAssessment>('RiskAssessment');
    (ra.prediction ?? [])[1]!.probabilityDecimal = 1.2;
    const outcome = validator.validate(ra);
    const paths = expressions(outcome);
    expect(paths).toContain('RiskAssessment.prediction[1].probability');
  });

  it('rejects a probability above 100 through base R4 ras-2 as well', () => {
    const ra = resourceOf<RiskAssessment>('RiskAssessment');
    (ra.prediction ?? [])[0]!.probabilityDecimal = 150;
    const outcome = validator.validate(ra);
    const texts = (outcome?.issue ?? []).map((i) => i.details?.text ?? '');
    expect(texts.some((t) => t.includes('ras-2'))).toBe(true);
  });

  it('rejects a RiskAssessment without the AIAST label at meta.security', () => {
    const ra = resourceOf<RiskAssessment>('RiskAssessment');
    ra.meta = {
      ...ra.meta,
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }],
    };
    expect(expressions(validator.validate(ra))).toContain('RiskAssessment.meta.security');
  });

  it('rejects a RiskAssessment without basis at RiskAssessment.basis', () => {
    const ra = resourceOf<RiskAssessment>('RiskAssessment');
    delete ra.basis;
    expect(expressions(validator.validate(ra))).toContain('RiskAssessment.basis');
  });

  it('rejects a Provenance without the AIAST reason at Provenance.reason', () => {
    const provenance = resourceOf<Provenance>('Provenance');
    provenance.reason = [{ text: 'no label' }];
    expect(expressions(validator.validate(provenance))).toContain('Provenance.reason');
  });

  it('rejects a Provenance without the model card entity through the profile slice', () => {
    const provenance = resourceOf<Provenance>('Provenance');
    provenance.entity = (provenance.entity ?? []).filter((e) => e.role !== 'derivation');
    expect(validator.validate(provenance)).toBeDefined();
  });

  it('rejects an extension that breaks its definition at the extension path', () => {
    const ra = resourceOf<RiskAssessment>('RiskAssessment');
    const first = ra.extension?.[0];
    if (!first) throw new Error('expected extensions');
    first.extension = (first.extension ?? []).filter((e) => e.url !== 'delta');
    const paths = expressions(validator.validate(ra));
    expect(paths.some((p) => p.startsWith('RiskAssessment.extension[0]'))).toBe(true);
  });

  it('rejects what base R4 rejects (a malformed dateTime) at its path', () => {
    const ra = resourceOf<RiskAssessment>('RiskAssessment');
    ra.occurrenceDateTime = 'yesterday afternoon';
    expect(expressions(validator.validate(ra))).toContain('RiskAssessment.occurrence');
  });

  it('rejects what only the profile requires: the model Device as performer', () => {
    const ra = resourceOf<RiskAssessment>('RiskAssessment');
    delete ra.performer;
    expect(expressions(validator.validate(ra))).toContain('RiskAssessment.performer');
  });

  it('rejects a model Device without its identity identifier', () => {
    const device = resourceOf<Device>('Device');
    delete device.identifier;
    expect(expressions(validator.validate(device))).toContain('Device.identifier');
  });

  it('rejects a model Device without the IG modelCardDescription extension, and a card not marked Markdown', () => {
    const device = resourceOf<Device>('Device');
    device.extension = device.extension?.filter((e) => !e.url.endsWith('aitransparency.modelCardDescription'));
    expect(expressions(validator.validate(device))).toContain('Device');
    const card = resourceOf<DocumentReference>('DocumentReference');
    delete card.category;
    expect(expressions(validator.validate(card))).toContain('DocumentReference.category');
  });

  it('remembers a valid model Device across bundles yet still catches a changed one', () => {
    const { manifest, cardMarkdown } = referenceModel();
    const other = buildAssessmentBundle({
      result: sampleResult('pat-2'),
      manifest,
      cardMarkdown,
      softwareVersion: '0.1.0',
      identifierSystem: 'urn:x',
    });
    const device = other.entry?.find((e) => e.resource?.resourceType === 'Device')?.resource as Device;
    expect(validator.validate(device)).toBeUndefined();
    expect(validator.validate(device)).toBeUndefined();
    const broken = structuredClone(device);
    broken.type = { text: 'not coded' };
    expect(expressions(validator.validate(broken))).toContain('Device.type');
  });
});
