import type { RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { buildRiskCard, type CardContext } from '../../../src/review/cds-hooks/build-risk-card.js';
import { selectLatestAssessments } from '../../../src/review/cds-hooks/select-latest-assessments.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { localisedFindings } from '../../../src/writeback/localised-findings.js';
import { referenceModel } from '../writeback/assessment-fixture.js';
import { localisedResult, GATE, validatedManifest } from '../writeback/localisation-fixture.js';

const context: CardContext = {
  reviewLaunchUrl: 'https://fusion.example.org/review/launch',
  maxAgeMs: 24 * 3_600_000,
  now: Date.parse('2026-11-23T19:00:00.000Z'),
  newUuid: () => '00000000-0000-4000-8000-000000000000',
  model: () => ({ label: 'fhir-fusion: test v1' }),
};

/** The RiskAssessment as the EHR returns it: the transaction resolved the finding's urn:uuid. */
function writtenAssessment(localise: boolean): RiskAssessment {
  const { cardMarkdown } = referenceModel();
  const manifest = validatedManifest(referenceModel().manifest);
  const result = localisedResult();
  const localised = localise ? localisedFindings(result, manifest, GATE).localised : undefined;
  const bundle = buildAssessmentBundle({
    result,
    manifest,
    cardMarkdown,
    softwareVersion: 't',
    identifierSystem: 'urn:test',
    ...(localised ? { localised } : {}),
  });
  const ra = bundle.entry!.find((e) => e.resource?.resourceType === 'RiskAssessment')!
    .resource as RiskAssessment;
  return {
    ...ra,
    id: 'ra-1',
    basis: ra.basis?.map((b) =>
      b.reference?.startsWith('urn:uuid:') ? { ...b, reference: 'Observation/obs-9' } : b,
    ),
  };
}

describe('CDS card link to the localisation (issue #20 point 6)', () => {
  it('adds a smart link to the review app naming the finding and what the overlay is not', () => {
    const [latest] = selectLatestAssessments([writtenAssessment(true)], 'pat-1');
    const card = buildRiskCard(latest!, context);
    expect(card.links).toHaveLength(2);
    const link = card.links![1]!;
    expect(link).toMatchObject({
      type: 'smart',
      url: context.reviewLaunchUrl,
      label: 'Where on the image: Cardiomegaly (AI-localised, preliminary: not a diagnosis)',
    });
    expect(JSON.parse(link.appContext!)).toEqual({
      riskAssessment: 'RiskAssessment/ra-1',
      findings: ['Observation/obs-9'],
    });
  });

  it('has no such link without a localised finding', () => {
    const [latest] = selectLatestAssessments([writtenAssessment(false)], 'pat-1');
    expect(buildRiskCard(latest!, context).links).toHaveLength(1);
  });
});
