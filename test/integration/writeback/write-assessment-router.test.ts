import { MedplumClient } from '@medplum/core';
import type { Bundle, Provenance, Reference, RiskAssessment } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessmentIdentity } from '../../../src/contracts/assessment-identity.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { findPreviousAssessment } from '../../../src/writeback/find-previous-assessment.js';
import type { ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { createProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { writeAssessment } from '../../../src/writeback/write-assessment.js';
import { referenceModel, sampleResult } from '../../unit/writeback/assessment-fixture.js';
import type { MinimalFhirServer } from './minimal-fhir-server.js';
import { startMinimalFhirServer } from './minimal-fhir-server.js';

const IDENTIFIER_SYSTEM = 'https://hospital.example.org/fhir-fusion/assessment';
const AIAST = 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue|AIAST';

let server: MinimalFhirServer;
let client: MedplumClient;
let validator: ProfileValidator;

function clientFor(baseUrl: string): MedplumClient {
  return new MedplumClient({
    baseUrl,
    fhirUrlPath: '',
    cacheTime: 0,
    autoBatchTime: 0,
    fetch: (url: string, init?: RequestInit) => fetch(url, init),
  });
}

function bundleFor(result = sampleResult('pat-7'), previous?: Reference<RiskAssessment>): Bundle {
  const { manifest, cardMarkdown } = referenceModel();
  return buildAssessmentBundle({
    result,
    manifest,
    cardMarkdown,
    previous,
    softwareVersion: '0.1.0',
    identifierSystem: IDENTIFIER_SYSTEM,
  });
}

async function count(
  resourceType: 'RiskAssessment' | 'Provenance' | 'Device' | 'DocumentReference',
): Promise<number> {
  const found = await client.searchResources(resourceType, { _count: '100' }, { cache: 'no-cache' });
  return found.length;
}

beforeAll(async () => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
  server = await startMinimalFhirServer();
  client = clientFor(server.baseUrl);
});

afterAll(async () => {
  await server.close();
});

describe('writeAssessment against @medplum/fhir-router', () => {
  it('answers 201 then 200 to the same transaction: conditional create really matches', async () => {
    const bundle = bundleFor();
    const first = await client.executeBatch(bundle, { cache: 'no-cache' });
    expect(first.entry?.map((e) => e.response?.status.slice(0, 3))).toEqual(['201', '201', '201', '201']);
    const second = await client.executeBatch(bundle, { cache: 'no-cache' });
    expect(second.entry?.map((e) => e.response?.status.slice(0, 3))).toEqual(['200', '200', '200', '200']);
    server.repo.clear();
  });

  it('writes one RiskAssessment and one Provenance however often the same assessment is posted', async () => {
    const bundle = bundleFor();
    const first = await writeAssessment(client, bundle, { validator });
    const again = await writeAssessment(client, bundle, { validator });
    // A retried job rebuilds the bundle (new urn:uuids): still the same identity.
    const rebuilt = await writeAssessment(client, bundleFor(), { validator });
    expect(first.outcome).toBe('created');
    expect(again.outcome).toBe('exists');
    expect(rebuilt.outcome).toBe('exists');
    expect(again.riskAssessment.reference).toBe(first.riskAssessment.reference);
    expect(rebuilt.provenance.reference).toBe(first.provenance.reference);
    expect(await count('RiskAssessment')).toBe(1);
    expect(await count('Provenance')).toBe(1);
    expect(await count('Device')).toBe(1);
    expect(await count('DocumentReference')).toBe(1);

    const ra = await client.readReference<RiskAssessment>(first.riskAssessment, { cache: 'no-cache' });
    expect(ra.identifier?.[0]?.value).toBe(assessmentIdentity(sampleResult('pat-7')));
    expect(ra.performer?.reference).toMatch(/^Device\/[^/]+$/);
    const provenance = await client.readReference<Provenance>(first.provenance, { cache: 'no-cache' });
    expect(provenance.target[0]?.reference).toBe(first.riskAssessment.reference);
    expect(provenance.entity?.find((e) => e.role === 'derivation')?.what.reference).toMatch(
      /^DocumentReference\//,
    );
  });

  it('links a new assessment to the one it follows and reuses the model Device and card', async () => {
    const firstRef = await findPreviousAssessment(client, 'pat-7', 'tabular-risk');
    expect(firstRef?.reference).toMatch(/^RiskAssessment\/[^/]+\/_history\/[^/]+$/);

    const newer = sampleResult('pat-7', {
      occurredAt: '2026-11-23T19:00:00.000Z',
      basis: [
        { resourceType: 'Patient', id: 'pat-7', versionId: '1' },
        { resourceType: 'Observation', id: 'pat-7-hr', versionId: '4' },
      ],
    });
    const written = await writeAssessment(client, bundleFor(newer, firstRef), { validator });
    expect(written.outcome).toBe('created');
    expect(await count('RiskAssessment')).toBe(2);
    expect(await count('Device')).toBe(1);
    expect(await count('DocumentReference')).toBe(1);

    const provenance = await client.readReference<Provenance>(written.provenance, { cache: 'no-cache' });
    expect(provenance.entity?.find((e) => e.role === 'revision')?.what.reference).toBe(firstRef?.reference);
    const latest = await findPreviousAssessment(client, 'pat-7', 'tabular-risk');
    expect(latest?.reference?.startsWith(`${written.riskAssessment.reference}/_history/`)).toBe(true);
    expect(await findPreviousAssessment(client, 'someone-else', 'tabular-risk')).toBeUndefined();
  });

  it("finds everything the AI wrote for a patient the way a clinician's tool asks", async () => {
    await writeAssessment(client, bundleFor(sampleResult('pat-8')), { validator });
    const assessments = await client.searchResources(
      'RiskAssessment',
      { subject: 'Patient/pat-7', _security: AIAST },
      { cache: 'no-cache' },
    );
    expect(assessments).toHaveLength(2);
    expect(assessments.every((ra) => ra.subject?.reference === 'Patient/pat-7')).toBe(true);
    for (const ra of assessments) {
      const provenances = await client.searchResources(
        'Provenance',
        { target: `RiskAssessment/${ra.id}` },
        { cache: 'no-cache' },
      );
      expect(provenances).toHaveLength(1);
      expect(provenances[0]?.reason?.[0]?.coding?.[0]?.code).toBe('AIAST');
    }
    const unlabelled = await client.searchResources(
      'RiskAssessment',
      {
        subject: 'Patient/pat-7',
        _security: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue|OTHER',
      },
      { cache: 'no-cache' },
    );
    expect(unlabelled).toHaveLength(0);
  });
});
