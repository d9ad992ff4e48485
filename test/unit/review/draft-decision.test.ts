import type { DiagnosticReport, OperationOutcome, Provenance, Resource } from '@medplum/fhirtypes';
import { validateResource } from '@medplum/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDraftDecision } from '../../../src/review/smart-app/draft-decision.js';
import { buildDraftReport } from '../../../src/writeback/build-draft-report.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { createProfileValidator, type ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { draftingModel, sampleDraft } from '../writeback/draft-fixture.js';

let validator: ProfileValidator;
beforeAll(() => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
});

function stored(): DiagnosticReport {
  return {
    ...buildDraftReport({
      draft: sampleDraft(),
      model: draftingModel(),
      identifierSystem: 'https://hospital.example.org/fhir-fusion/assessment',
      issued: '2026-11-23T18:00:05.000Z',
    }),
    id: 'dr-1',
    meta: {
      versionId: '3',
      lastUpdated: '2026-11-23T18:00:05.000Z',
      profile: ['https://fhir-fusion.dev/fhir/StructureDefinition/FusionDraftDiagnosticReport'],
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'AIAST' }],
    },
  };
}

function errors(outcome: OperationOutcome | undefined): string[] {
  return (outcome?.issue ?? [])
    .filter((i) => i.severity === 'error')
    .map((i) => `${i.expression?.join(',')}: ${i.details?.text}`);
}

function decide(decision: 'accept' | 'reject', fhirUser: string | undefined) {
  const bundle = buildDraftDecision({
    report: stored(),
    decision,
    fhirUser,
    reviewer: 'Dr Dana Review',
    recorded: '2026-11-24T09:00:00.000Z',
  });
  const [put, post] = bundle.entry ?? [];
  return {
    bundle,
    report: put?.resource as DiagnosticReport,
    put,
    provenance: post?.resource as Provenance,
    post,
  };
}

describe('a clinician’s decision on an AI-drafted description', () => {
  it('accept: a version-conditional PUT of a final report and a verifier Provenance pointing to the preliminary version, in one transaction', () => {
    const { bundle, report, put, provenance, post } = decide('accept', 'Practitioner/dr-9');
    expect(bundle.type).toBe('transaction');
    expect(put?.request).toEqual({ method: 'PUT', url: 'DiagnosticReport/dr-1', ifMatch: 'W/"3"' });
    expect(report.status).toBe('final');
    expect(report.extension).toContainEqual({
      url: 'https://fhir-fusion.dev/fhir/StructureDefinition/ai-draft-review',
      valueCode: 'accepted',
    });
    expect(report.resultsInterpreter).toEqual([{ reference: 'Practitioner/dr-9' }]);
    expect(report.conclusion).toBe(stored().conclusion);
    expect(report.meta?.security).toContainEqual(expect.objectContaining({ code: 'AIAST' }));
    expect(report.text?.div).toContain('AI-drafted, accepted as final by Dr Dana Review.');
    expect(report.text?.div).not.toContain('not reviewed');
    expect(post?.request).toEqual({ method: 'POST', url: 'Provenance' });
    expect(provenance.target).toEqual([{ reference: 'DiagnosticReport/dr-1' }]);
    expect(provenance.agent?.[0]?.type?.coding?.[0]).toMatchObject({
      system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
      code: 'verifier',
    });
    expect(provenance.agent?.[0]?.who).toEqual({ reference: 'Practitioner/dr-9' });
    expect(provenance.entity).toEqual([
      { role: 'revision', what: { reference: 'DiagnosticReport/dr-1/_history/3' } },
    ]);
  });

  it('reject: entered-in-error with review state rejected and no interpreter', () => {
    const { report, provenance } = decide('reject', 'Practitioner/dr-9');
    expect(report.status).toBe('entered-in-error');
    expect(report.extension).toContainEqual({
      url: 'https://fhir-fusion.dev/fhir/StructureDefinition/ai-draft-review',
      valueCode: 'rejected',
    });
    expect(report.resultsInterpreter).toBeUndefined();
    expect(provenance.activity?.text).toContain('rejected');
  });

  it('writes resources that validate against base R4 and FusionDraftDiagnosticReport', () => {
    for (const decision of ['accept', 'reject'] as const) {
      const { report, provenance } = decide(decision, 'Practitioner/dr-9');
      expect(errors(validator.validate(report as Resource)), decision).toEqual([]);
      // The clinician's Provenance is a person's, not an AI Provenance: base R4 only.
      expect(() => validateResource(provenance), decision).not.toThrow();
    }
  });

  it('names a clinician without fhirUser by role, and never makes a Patient the interpreter', () => {
    expect(decide('accept', undefined).provenance.agent?.[0]?.who).toEqual({
      display: 'Clinician (identity not shared by the EHR)',
    });
    expect(decide('accept', 'Patient/p-1').report.resultsInterpreter).toBeUndefined();
  });
});
