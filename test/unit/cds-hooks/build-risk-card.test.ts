import type { RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { buildRiskCard, clampSummary, SUMMARY_MAX, type CardContext } from '../../../src/review/cds-hooks/build-risk-card.js';
import { answerHook } from '../../../src/review/cds-hooks/answer-hook.js';
import { selectLatestAssessments } from '../../../src/review/cds-hooks/select-latest-assessments.js';
import { buildRiskAssessment } from '../../../src/writeback/build-risk-assessment.js';
import { referenceModel, sampleResult } from '../writeback/assessment-fixture.js';

const NOW = Date.parse('2026-11-23T19:00:00.000Z');

function assessment(overrides: Parameters<typeof sampleResult>[1] = {}, id = 'ra-1'): RiskAssessment {
  const { manifest } = referenceModel();
  return {
    ...buildRiskAssessment({
      result: sampleResult('pat-1', overrides),
      manifest,
      device: { reference: 'Device/dev-1' },
      identifierSystem: 'urn:ietf:rfc:3986',
    }),
    id,
  };
}

function context(overrides: Partial<CardContext> = {}): CardContext {
  let n = 0;
  return {
    reviewLaunchUrl: 'https://fusion.example.org/review/launch',
    maxAgeMs: 24 * 3_600_000,
    now: NOW,
    newUuid: () => `00000000-0000-4000-8000-00000000000${n++}`,
    model: () => ({ label: 'fhir-fusion: Tabular logistic regression (reference) v1', cardUrl: 'https://fusion.example.org/cds-services/model-cards/tabular-risk/1' }),
    ...overrides,
  };
}

describe('buildRiskCard', () => {
  it('headlines the most severe outcome, maps high risk to critical and lists contributions', () => {
    const [latest] = selectLatestAssessments([assessment()], 'pat-1');
    const card = buildRiskCard(latest!, context());
    expect(card.indicator).toBe('critical');
    expect(card.summary).toBe('High risk of acute heart failure (61%)');
    expect(card.detail).toContain('- **Acute heart failure**: high risk (61%)');
    expect(card.detail).toContain('- **Pneumonia**: low risk (12%)');
    expect(card.detail).toContain('- Labs and vital signs: +0.410');
    // Values ordered by |delta| for the headline outcome: creatinine (0.12) before heart rate (0.05).
    expect(card.detail?.indexOf('creatinine')).toBeLessThan(card.detail?.indexOf('heart rate') ?? -1);
    expect(card.detail).toContain('Assessed without: Report text (none in the look\\-back window)');
    expect(card.detail).toContain('synthetic data');
    expect(card.source).toEqual({ label: 'fhir-fusion: Tabular logistic regression (reference) v1', url: 'https://fusion.example.org/cds-services/model-cards/tabular-risk/1' });
    expect(card.links).toEqual([
      { label: 'Open in fhir-fusion review', url: 'https://fusion.example.org/review/launch', type: 'smart', appContext: '{"riskAssessment":"RiskAssessment/ra-1"}' },
    ]);
    expect(card.overrideReasons?.length).toBeGreaterThan(0);
  });

  it('maps moderate to warning and low to info', () => {
    const moderate = assessment({
      predictions: [
        { outcomeIndex: 0, probability: 0.3, qualitativeRisk: 'moderate' },
        { outcomeIndex: 1, probability: 0.1, qualitativeRisk: 'low' },
        { outcomeIndex: 2, probability: 0.25, qualitativeRisk: 'moderate' },
      ],
    });
    expect(buildRiskCard(selectLatestAssessments([moderate], 'pat-1')[0]!, context()).indicator).toBe('warning');
    const low = assessment({
      predictions: [
        { outcomeIndex: 0, probability: 0.05, qualitativeRisk: 'low' },
        { outcomeIndex: 1, probability: 0.1, qualitativeRisk: 'low' },
        { outcomeIndex: 2, probability: 0.02, qualitativeRisk: 'low' },
      ],
    });
    const card = buildRiskCard(selectLatestAssessments([low], 'pat-1')[0]!, context());
    expect(card.indicator).toBe('info');
    expect(card.summary).toBe('Low risk of pneumonia (10%)');
  });

  it('gives an info card without risk values when the assessment is older than the maximum age', () => {
    const old = assessment({ occurredAt: '2026-11-20T19:00:00.000Z' });
    const card = buildRiskCard(selectLatestAssessments([old], 'pat-1')[0]!, context());
    expect(card.indicator).toBe('info');
    expect(card.summary).toBe('No current multimodal risk assessment (last one 3 days old)');
    expect(card.detail).not.toMatch(/%/);
    expect(card.links?.[0]?.type).toBe('smart');
  });

  it('keeps summaries under 140 characters', () => {
    expect([...clampSummary('x'.repeat(300))].length).toBe(SUMMARY_MAX);
    expect(clampSummary('short')).toBe('short');
    const base = assessment();
    const long = { ...base, prediction: (base.prediction ?? []).map((p) => ({ ...p, outcome: { text: `Outcome ${'l'.repeat(200)}` } })) };
    const card = buildRiskCard(selectLatestAssessments([long], 'pat-1')[0]!, context());
    expect([...card.summary].length).toBeLessThan(140);
    expect(card.summary.endsWith('…')).toBe(true);
  });
});

describe('selectLatestAssessments and answerHook', () => {
  it('keeps the newest per model for the patient and ignores withdrawn, unlabelled and other patients', () => {
    const older = assessment({ occurredAt: '2026-11-23T10:00:00.000Z' }, 'old');
    const newer = assessment({ occurredAt: '2026-11-23T18:30:00.000Z' }, 'new');
    const withdrawn = { ...assessment({ occurredAt: '2026-11-23T18:50:00.000Z' }, 'gone'), status: 'entered-in-error' as const };
    const unlabelled = { ...assessment({ occurredAt: '2026-11-23T18:55:00.000Z' }, 'plain'), meta: {} };
    const otherPatient = { ...assessment({ occurredAt: '2026-11-23T18:56:00.000Z' }, 'other'), subject: { reference: 'Patient/pat-2' } };
    const latest = selectLatestAssessments({ resourceType: 'Bundle', type: 'searchset', entry: [older, newer, withdrawn, unlabelled, otherPatient].map((resource) => ({ resource })) }, 'pat-1');
    expect(latest.map((l) => l.assessment.id)).toEqual(['new']);
    expect(selectLatestAssessments([newer], 'pat-1', ['late-fusion'])).toEqual([]);
  });

  it('answers the card and the rows to record', () => {
    const { response, issued } = answerHook({
      serviceId: 'fhir-fusion-patient-view',
      request: { hook: 'patient-view', hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea', context: { patientId: 'pat-1' }, prefetch: {} },
      data: { assessments: [assessment()], source: 'prefetch' },
      clientIss: 'https://ehr.example.org',
      policy: { models: [], served: ['tabular-risk'], minRisk: 'moderate' },
      card: context(),
    });
    expect(response.cards).toHaveLength(1);
    expect(issued).toEqual([
      {
        uuid: response.cards[0]?.uuid,
        serviceId: 'fhir-fusion-patient-view',
        patientId: 'pat-1',
        riskAssessment: 'RiskAssessment/ra-1',
        model: 'tabular-risk',
        indicator: 'critical',
        hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
        clientIss: 'https://ehr.example.org',
      },
    ]);
  });
});
