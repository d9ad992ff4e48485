import type { RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { assessmentView } from '../../../src/review/smart-app/assessment-view.js';
import type { ReviewData } from '../../../src/review/smart-app/load-review-data.js';
import { renderReviewPage } from '../../../src/review/smart-app/render-review-page.js';
import { buildRiskAssessment } from '../../../src/writeback/build-risk-assessment.js';
import { referenceModel, sampleResult } from '../writeback/assessment-fixture.js';

function assessment(id: string, occurredAt: string, overrides: Parameters<typeof sampleResult>[1]): RiskAssessment {
  const { manifest } = referenceModel();
  return {
    ...buildRiskAssessment({ result: sampleResult('pat-1', { occurredAt, ...overrides }), manifest, device: { reference: 'Device/dev-1' }, identifierSystem: 'urn:ietf:rfc:3986' }),
    id,
  };
}

const abstained = assessment('ra-new', '2026-11-23T10:00:00.000Z', {
  predictions: [],
  modalityContributions: [],
  featureContributions: [],
  executionProvider: 'none',
  notAssessed: [0, 1, 2].map((outcomeIndex) => ({ outcomeIndex, reason: 'too-little-information' as const, detail: 'too little information: needs at least 4 of heart_rate, sodium' })),
});
const assessed = assessment('ra-old', '2026-11-22T10:00:00.000Z', {});

describe('SMART review page for outcomes not assessed (issue #17)', () => {
  it('reads the outcome-not-assessed extension as predictions without probability', () => {
    const view = assessmentView(abstained);
    expect(view.predictions.map((p) => [p.outcome, p.probability, p.notAssessed])).toEqual([
      ['Acute heart failure', undefined, 'too little information: needs at least 4 of heart_rate, sodium'],
      ['Pneumonia', undefined, 'too little information: needs at least 4 of heart_rate, sodium'],
      ['Atrial fibrillation', undefined, 'too little information: needs at least 4 of heart_rate, sodium'],
    ]);
  });

  it('shows "cannot assess" instead of a risk, and the trend skips the abstained assessment', () => {
    const data: ReviewData = {
      patient: { resourceType: 'Patient', id: 'pat-1' },
      assessments: [assessmentView(abstained), assessmentView(assessed)],
      versions: {},
      reviews: [],
      model: undefined,
      inputs: [],
      sentences: [],
      ecg: undefined,
      imaging: undefined,
      similarCases: undefined,
    };
    const html = renderReviewPage(data, { prefix: '/review', iss: 'https://ehr.example.org/fhir', csrfToken: 't', notice: undefined, fhirUser: undefined });
    const latest = html.slice(html.indexOf('id="latest-h"'), html.indexOf('</section>', html.indexOf('id="latest-h"')));
    expect(latest).toContain('cannot assess: too little information');
    expect(latest).toContain('Cannot assess');
    expect(latest).not.toMatch(/Low likelihood|Negligible|risk-badge risk-low/);
    // The trend plots the one assessed point only: an abstention is not a zero.
    expect(html).toMatch(/Acute heart failure · 1 assessment</);
  });
});
