import { MedplumClient } from '@medplum/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { findPreviousAssessment } from '../../../src/writeback/find-previous-assessment.js';
import type { ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { createProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { writeAssessment } from '../../../src/writeback/write-assessment.js';
import { referenceModel, sampleResult } from '../../unit/writeback/assessment-fixture.js';

const IDENTIFIER_SYSTEM = 'https://hospital.example.org/fhir-fusion/assessment';

let ehr: SandboxEhr;
let client: MedplumClient;
let validator: ProfileValidator;

function bundleFor(patientId: string) {
  const { manifest, cardMarkdown } = referenceModel();
  return buildAssessmentBundle({
    result: sampleResult(patientId),
    manifest,
    cardMarkdown,
    softwareVersion: '0.1.0',
    identifierSystem: IDENTIFIER_SYSTEM,
  });
}

beforeAll(async () => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
  ehr = await createSandboxEhr();
  const base = await ehr.listen();
  client = new MedplumClient({
    baseUrl: `${base}/`,
    fhirUrlPath: '',
    cacheTime: 0,
    autoBatchTime: 0,
    fetch: (url: string, init?: RequestInit) => fetch(url, init),
  });
});

afterAll(async () => {
  await ehr.close();
});

describe('writeAssessment against the sandbox EHR', () => {
  it('creates once, then reports exists, with one RiskAssessment and one Provenance', async () => {
    const first = await writeAssessment(client, bundleFor('pat-s1'), { validator });
    const second = await writeAssessment(client, bundleFor('pat-s1'), { validator });
    expect(first.outcome).toBe('created');
    expect(second).toEqual({ ...first, outcome: 'exists' });
    const assessments = await client.searchResources(
      'RiskAssessment',
      {
        subject: 'Patient/pat-s1',
        _security: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue|AIAST',
      },
      { cache: 'no-cache' },
    );
    expect(assessments.map((ra) => `RiskAssessment/${ra.id}`)).toEqual([first.riskAssessment.reference]);
    const provenances = await client.searchResources(
      'Provenance',
      { target: first.riskAssessment.reference ?? '' },
      { cache: 'no-cache' },
    );
    expect(provenances.map((p) => `Provenance/${p.id}`)).toEqual([first.provenance.reference]);
    const previous = await findPreviousAssessment(client, 'pat-s1', 'tabular-risk');
    expect(previous?.reference?.startsWith(`${first.riskAssessment.reference}/_history/`)).toBe(true);
  });
});
