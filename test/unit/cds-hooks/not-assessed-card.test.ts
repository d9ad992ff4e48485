import type { RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { buildRiskCard, type CardContext } from '../../../src/review/cds-hooks/build-risk-card.js';
import { selectLatestAssessments } from '../../../src/review/cds-hooks/select-latest-assessments.js';
import { buildRiskAssessment } from '../../../src/writeback/build-risk-assessment.js';
import { referenceModel, sampleResult } from '../writeback/assessment-fixture.js';

const NOW = Date.parse('2026-11-23T19:00:00.000Z');

function assessment(overrides: Parameters<typeof sampleResult>[1]): RiskAssessment {
  const { manifest } = referenceModel();
  return {
    ...buildRiskAssessment({ result: sampleResult('pat-1', overrides), manifest, device: { reference: 'Device/dev-1' }, identifierSystem: 'urn:ietf:rfc:3986' }),
    id: 'ra-1',
  };
}

const context: CardContext = {
  reviewLaunchUrl: 'https://fusion.example.org/review/launch',
  maxAgeMs: 24 * 3_600_000,
  now: NOW,
  newUuid: () => '00000000-0000-4000-8000-000000000000',
  model: () => ({ label: 'fhir-fusion: Tabular logistic regression (reference) v1' }),
};

describe('CDS card for outcomes not assessed (issue #17)', () => {
  it('every outcome abstained: an info card that says "cannot assess" with the reason, never a risk', () => {
    const ra = assessment({
      predictions: [],
      modalityContributions: [],
      featureContributions: [],
      executionProvider: 'none',
      notAssessed: [0, 1, 2].map((outcomeIndex) => ({ outcomeIndex, reason: 'too-little-information' as const, detail: 'too little information: needs at least 4 of heart_rate, sodium' })),
    });
    const [latest] = selectLatestAssessments([ra], 'pat-1');
    const card = buildRiskCard(latest!, context);
    expect(card.indicator).toBe('info');
    expect(card.summary).toBe('Cannot assess: too little information: needs at least 4 of heart_rate, sodium');
    expect(card.detail).toContain('- **Atrial fibrillation**: cannot assess: too little information');
    expect(card.detail).not.toMatch(/low risk|negligible/i);
    expect(card.overrideReasons).toBeUndefined();
  });

  it('one outcome abstained: the headline is an assessed outcome and the abstained one reads "cannot assess"', () => {
    const ra = assessment({
      predictions: [
        { outcomeIndex: 0, probability: 0.04, qualitativeRisk: 'low' },
        { outcomeIndex: 1, probability: 0.3, qualitativeRisk: 'moderate' },
      ],
      modalityContributions: [{ modality: 'tabular', delta: [0.01, 0.2] }],
      featureContributions: [],
      notAssessed: [{ outcomeIndex: 2, reason: 'required-input-missing', detail: 'Atrial fibrillation needs at least 2 of nt_probnp, creatinine' }],
    });
    const card = buildRiskCard(selectLatestAssessments([ra], 'pat-1')[0]!, context);
    expect(card.summary).toMatch(/^Moderate risk of pneumonia/);
    expect(card.detail).toContain('- **Atrial fibrillation**: cannot assess: Atrial fibrillation needs at least 2 of nt\\_probnp, creatinine');
    expect(card.detail).not.toContain('Atrial fibrillation**: low');
  });
});
