import type { Device, DocumentReference, Provenance, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { OperationOutcomeError, validateResource } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { assessmentIdentity } from '../../../src/contracts/assessment-identity.js';
import { AI_TRANSPARENCY_EXTENSIONS } from '../../../src/contracts/fusion-terminology.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { referenceModel, sampleResult } from './assessment-fixture.js';

const SYSTEM = 'https://hospital.example.org/fhir-fusion/assessment';

function build(previous?: { reference: string }) {
  const { manifest, cardMarkdown } = referenceModel();
  const result = sampleResult();
  const bundle = buildAssessmentBundle({
    result,
    manifest,
    cardMarkdown,
    previous,
    softwareVersion: '0.1.0',
    identifierSystem: SYSTEM,
  });
  const byType = <T extends Resource>(type: T['resourceType']) => {
    const entry = bundle.entry?.find((e) => e.resource?.resourceType === type);
    if (!entry?.resource || !entry.fullUrl) throw new Error(`no ${type}`);
    return { resource: entry.resource as T, fullUrl: entry.fullUrl, request: entry.request };
  };
  return { bundle, result, manifest, cardMarkdown, byType };
}

describe('buildAssessmentBundle', () => {
  it('is a valid R4 transaction Bundle (bdl-* invariants included)', () => {
    ensureR4DefinitionsIndexed();
    const { bundle } = build();
    const errors = (() => {
      try {
        return validateResource(bundle).filter((i) => i.severity === 'error');
      } catch (err) {
        if (err instanceof OperationOutcomeError) return err.outcome.issue;
        throw err;
      }
    })();
    expect(errors).toEqual([]);
  });

  it('is one transaction of conditional creates with urn:uuid fullUrls', () => {
    const { bundle } = build();
    expect(bundle.type).toBe('transaction');
    expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'DocumentReference',
      'Device',
      'RiskAssessment',
      'Provenance',
    ]);
    for (const entry of bundle.entry ?? []) {
      expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
      expect(entry.request?.method).toBe('POST');
      expect(entry.request?.url).toBe(entry.resource?.resourceType);
      expect(entry.request?.ifNoneExist).toBeTruthy();
    }
  });

  it('makes the RiskAssessment and Provenance conditional on the assessment identity', () => {
    const { byType, result } = build();
    const identity = assessmentIdentity(result);
    const encodedSystem = encodeURIComponent(SYSTEM);
    expect(byType<RiskAssessment>('RiskAssessment').request?.ifNoneExist).toBe(
      `identifier=${encodedSystem}|${identity}`,
    );
    expect(byType<Provenance>('Provenance').request?.ifNoneExist).toBe(`_tag=${encodedSystem}|${identity}`);
    expect(byType<Provenance>('Provenance').resource.meta?.tag).toEqual([
      expect.objectContaining({ system: SYSTEM, code: identity }),
    ]);
  });

  it('identifies the Device by name:version:sha256 and the card by its content', () => {
    const { byType, result } = build();
    const device = byType<Device>('Device');
    expect(device.resource.identifier?.[0]?.value).toBe(`tabular-risk:1:${result.modelSha256}`);
    expect(device.request?.ifNoneExist).toContain(encodeURIComponent(`tabular-risk:1:${result.modelSha256}`));
    expect(device.resource.version?.[0]?.value).toBe('1');
  });

  it('describes the Device and card with the AI Transparency IG extensions and codes', () => {
    const { byType } = build();
    const device = byType<Device>('Device').resource;
    const ig = 'http://hl7.org/fhir/uv/aitransparency';
    expect(device.type?.coding).toEqual([expect.objectContaining({ system: `${ig}/CodeSystem/AIdeviceTypeCS`, code: 'Artificial-Intelligence' })]);
    const urls = (device.extension ?? []).map((e) => e.url);
    expect(urls.filter((u) => u === `${ig}/StructureDefinition/aitransparency.modelCardDescription`)).toHaveLength(1);
    // Only the IG's extensions: fhir-fusion's own model-card extension is gone (the IG has one).
    expect(urls.every((u) => u.startsWith(`${ig}/StructureDefinition/aitransparency.`))).toBe(true);
    const kinds = (device.extension ?? [])
      .filter((e) => e.url === `${ig}/StructureDefinition/aitransparency.AIKind`)
      .map((e) => e.valueCodeableConcept?.coding?.[0]?.code);
    // tabular-risk reads labs and vital signs only: one data type, so not multimodal.
    expect(kinds).toEqual(['Machine-Learning-Models', 'Deterministic-AI', 'AI-for-Structured-Clinical-Data']);
    const card = byType<DocumentReference>('DocumentReference').resource;
    expect(card.type?.coding).toEqual([expect.objectContaining({ system: `${ig}/CodeSystem/AIinputsCS`, code: 'AIModelCard' })]);
    expect(card.category?.[0]?.coding).toEqual([
      expect.objectContaining({ system: `${ig}/CodeSystem/AIinputsCS`, code: 'AIModelCardMarkdownFormat' }),
    ]);
    const author = byType<Provenance>('Provenance').resource.agent.find((a) => a.type?.coding?.[0]?.code === 'author');
    expect(author?.role?.[0]?.coding?.[0]).toEqual(expect.objectContaining({ code: 'Artificial-Intelligence' }));
  });

  it('carries the card Markdown inline, base64, with size and SHA-1', () => {
    const { byType, cardMarkdown } = build();
    const attachment = byType<DocumentReference>('DocumentReference').resource.content[0]?.attachment;
    expect(attachment?.contentType).toBe('text/markdown');
    expect(Buffer.from(attachment?.data ?? '', 'base64').toString('utf8')).toBe(cardMarkdown);
    expect(attachment?.size).toBe(Buffer.byteLength(cardMarkdown));
  });

  it('cross-references entries through their fullUrls', () => {
    const { byType } = build();
    const card = byType<DocumentReference>('DocumentReference');
    const device = byType<Device>('Device');
    const ra = byType<RiskAssessment>('RiskAssessment');
    const provenance = byType<Provenance>('Provenance');
    const cardExtension = device.resource.extension?.find((e) => e.url === AI_TRANSPARENCY_EXTENSIONS.modelCardDescription);
    expect(cardExtension?.valueReference?.reference).toBe(card.fullUrl);
    expect(ra.resource.performer?.reference).toBe(device.fullUrl);
    expect(provenance.resource.target[0]?.reference).toBe(ra.fullUrl);
    expect(provenance.resource.agent.find((a) => a.type?.coding?.[0]?.code === 'author')?.who.reference).toBe(
      device.fullUrl,
    );
    expect(provenance.resource.entity?.find((e) => e.role === 'derivation')?.what.reference).toBe(
      card.fullUrl,
    );
  });

  it('writes predictions on the 0..1 scale with risk-probability codes, and the basis as versioned references', () => {
    const { byType } = build();
    const ra = byType<RiskAssessment>('RiskAssessment').resource;
    expect(ra.meta?.security).toEqual([expect.objectContaining({ code: 'AIAST' })]);
    expect(ra.prediction?.map((p) => p.probabilityDecimal)).toEqual([0.612346, 0.12, 0.31]);
    expect(ra.prediction?.map((p) => p.qualitativeRisk?.coding?.[0])).toEqual([
      expect.objectContaining({
        system: 'http://terminology.hl7.org/CodeSystem/risk-probability',
        code: 'high',
      }),
      expect.objectContaining({ code: 'low' }),
      expect.objectContaining({ code: 'moderate' }),
    ]);
    expect(ra.prediction?.[0]?.outcome?.coding?.[0]).toEqual(
      expect.objectContaining({ system: 'http://snomed.info/sct', code: '56675007' }),
    );
    expect(ra.basis?.map((b) => b.reference)).toEqual([
      'Patient/pat-1/_history/1',
      'Observation/pat-1-hr/_history/3',
      'Observation/pat-1-creatinine/_history/1',
    ]);
  });

  it('names every missing modality with its reason, and each contribution per outcome', () => {
    const { byType } = build();
    const ra = byType<RiskAssessment>('RiskAssessment').resource;
    const missing = ra.extension?.filter((e) => e.url.endsWith('/missing-modality')) ?? [];
    expect(missing.map((e) => e.extension?.find((x) => x.url === 'modality')?.valueCoding?.code)).toEqual([
      'text',
      'image',
      'ecg',
    ]);
    expect(missing[1]?.extension?.find((x) => x.url === 'reason')?.valueCoding?.code).toBe(
      'failed-to-decode',
    );
    expect(ra.extension?.filter((e) => e.url.endsWith('/modality-contribution'))).toHaveLength(3);
    expect(ra.extension?.filter((e) => e.url.endsWith('/feature-contribution'))).toHaveLength(6);
  });

  it('records the execution provider, software version and the assessment it revises', () => {
    const { byType } = build({ reference: 'RiskAssessment/older/_history/2' });
    const provenance = byType<Provenance>('Provenance').resource;
    expect(provenance.extension?.find((e) => e.url.endsWith('/execution-provider'))?.valueCode).toBe('cpu');
    expect(provenance.extension?.find((e) => e.url.endsWith('/software-version'))?.valueString).toBe('0.1.0');
    expect(provenance.entity?.find((e) => e.role === 'revision')?.what.reference).toBe(
      'RiskAssessment/older/_history/2',
    );
    expect(provenance.entity?.filter((e) => e.role === 'source')).toHaveLength(3);
    expect(
      build()
        .byType<Provenance>('Provenance')
        .resource.entity?.some((e) => e.role === 'revision'),
    ).toBe(false);
  });
});
