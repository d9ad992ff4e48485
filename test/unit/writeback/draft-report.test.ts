import type { Bundle, DiagnosticReport, OperationOutcome, Provenance, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { buildDraftBundle } from '../../../src/writeback/build-draft-entries.js';
import { DRAFT_REPORT_PROFILE, draftIdentity } from '../../../src/writeback/build-draft-report.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { createProfileValidator, type ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { referenceModel, sampleResult } from './assessment-fixture.js';
import { draftingModel, sampleDraft } from './draft-fixture.js';

const SYSTEM = 'https://hospital.example.org/fhir-fusion/assessment';
let validator: ProfileValidator;

function bundleWithDraft(draft = sampleDraft()): Bundle {
  return buildDraftBundle({
    draft,
    model: draftingModel(),
    issued: '2026-11-23T18:00:05.000Z',
    softwareVersion: '0.1.0',
    identifierSystem: SYSTEM,
  });
}

/** The assessment's own transaction, which no longer carries the draft. */
function assessmentBundle(): Bundle {
  const { manifest, cardMarkdown } = referenceModel();
  return buildAssessmentBundle({
    result: sampleResult(),
    manifest,
    cardMarkdown,
    softwareVersion: '0.1.0',
    identifierSystem: SYSTEM,
  });
}

function only<T extends Resource>(bundle: Bundle, predicate: (r: Resource) => boolean): T {
  const found = (bundle.entry ?? []).map((e) => e.resource as Resource).filter(predicate);
  expect(found).toHaveLength(1);
  return structuredClone(found[0]) as T;
}

const report = (bundle: Bundle) =>
  only<DiagnosticReport>(bundle, (r) => r.resourceType === 'DiagnosticReport');
const reportProvenance = (bundle: Bundle) =>
  only<Provenance>(
    bundle,
    (r) =>
      r.resourceType === 'Provenance' &&
      (r as Provenance).target?.[0]?.reference ===
        bundle.entry?.find((e) => e.resource?.resourceType === 'DiagnosticReport')?.fullUrl,
  );

function errors(outcome: OperationOutcome | undefined): string[] {
  return (outcome?.issue ?? [])
    .filter((i) => i.severity === 'error')
    .map((i) => `${i.expression?.join(',')}: ${i.details?.text}`);
}

beforeAll(() => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
});

describe('AI-drafted DiagnosticReport in its own transaction', () => {
  it('holds card, Device, a preliminary report and its Provenance, each a conditional create, apart from the assessment', () => {
    const bundle = bundleWithDraft();
    const types = (bundle.entry ?? []).map((e) => e.resource?.resourceType);
    expect(types).toEqual(['DocumentReference', 'Device', 'DiagnosticReport', 'Provenance']);
    // Medplum serialises a transaction of conditional creates and refuses one of more than 8 entries.
    expect(types.length).toBeLessThanOrEqual(8);
    for (const entry of bundle.entry ?? []) expect(entry.request?.ifNoneExist).toBeTruthy();
    const identity = draftIdentity(sampleDraft());
    expect(bundle.entry?.[2]?.request?.ifNoneExist).toBe(
      `identifier=${encodeURIComponent(SYSTEM)}|${identity}`,
    );
    expect(bundle.entry?.[3]?.request?.ifNoneExist).toBe(`_tag=${encodeURIComponent(SYSTEM)}|${identity}`);
    expect((assessmentBundle().entry ?? []).map((e) => e.resource?.resourceType)).not.toContain(
      'DiagnosticReport',
    );
  });

  it('writes status preliminary, AIAST, RAD, LOINC 36554-4, the study, the draft as conclusion and no performer', () => {
    const dr = report(bundleWithDraft());
    expect(dr.status).toBe('preliminary');
    expect(dr.meta?.profile).toEqual([DRAFT_REPORT_PROFILE]);
    expect(dr.meta?.security).toContainEqual(expect.objectContaining({ code: 'AIAST' }));
    expect(dr.category?.[0]?.coding?.[0]).toMatchObject({
      system: 'http://terminology.hl7.org/CodeSystem/v2-0074',
      code: 'RAD',
    });
    expect(dr.code.coding?.[0]).toMatchObject({ system: 'http://loinc.org', code: '36554-4' });
    expect(dr.subject?.reference).toBe('Patient/pat-1');
    expect(dr.imagingStudy).toEqual([{ reference: 'ImagingStudy/pat-1-study/_history/2' }]);
    expect(dr.conclusion).toBe('The cardiac silhouette is enlarged. No pleural effusion.');
    expect(dr.performer).toBeUndefined();
    expect(dr.extension).toEqual([
      { url: 'https://fhir-fusion.dev/fhir/StructureDefinition/ai-draft-review', valueCode: 'not-reviewed' },
    ]);
    expect(dr.text?.div).toContain('AI-drafted, not reviewed by a clinician.');
    expect(dr.text?.div).toContain('synthetic');
  });

  it('names the drafting model as the author agent of the Provenance, with the study as its source', () => {
    const bundle = bundleWithDraft();
    const provenance = reportProvenance(bundle);
    const author = provenance.agent?.find((a) => a.type?.coding?.[0]?.code === 'author');
    expect(author?.role?.[0]?.coding?.[0]?.code).toBe('Artificial-Intelligence');
    expect(author?.who?.reference).toBe(bundle.entry?.[1]?.fullUrl);
    expect(provenance.entity?.filter((e) => e.role === 'source').map((e) => e.what.reference)).toEqual([
      'ImagingStudy/pat-1-study/_history/2',
    ]);
    expect(provenance.entity?.find((e) => e.role === 'derivation')?.what.reference).toBe(
      bundle.entry?.[0]?.fullUrl,
    );
  });

  it('validates every resource of the bundle against base R4 and the profiles', () => {
    for (const entry of bundleWithDraft().entry ?? []) {
      expect(errors(validator.validate(entry.resource as Resource)), entry.resource?.resourceType).toEqual(
        [],
      );
    }
  });

  it('rejects a draft claiming final while it says not-reviewed (ffdr-3)', () => {
    const dr = report(bundleWithDraft());
    dr.status = 'final';
    expect(errors(validator.validate(dr)).join('\n')).toContain('ffdr-3');
  });

  it('rejects a draft without the AIAST label', () => {
    const dr = report(bundleWithDraft());
    dr.meta = { ...dr.meta, security: [] };
    expect(errors(validator.validate(dr)).some((e) => e.includes('DiagnosticReport.meta.security'))).toBe(
      true,
    );
  });

  it('rejects a draft without conclusion or study', () => {
    const dr = report(bundleWithDraft());
    delete dr.conclusion;
    delete dr.imagingStudy;
    const found = errors(validator.validate(dr)).join('\n');
    expect(found).toContain('DiagnosticReport.conclusion');
    expect(found).toContain('DiagnosticReport.imagingStudy');
  });

  it('gives the same identity for the same model and study version, a new one for a new version', () => {
    expect(draftIdentity(sampleDraft())).toBe(draftIdentity(sampleDraft()));
    const newer = { resourceType: 'ImagingStudy', id: 'pat-1-study', versionId: '3' };
    expect(draftIdentity(sampleDraft('pat-1', { study: newer, basis: [newer] }))).not.toBe(
      draftIdentity(sampleDraft()),
    );
  });
});
