import type { RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { answerHook } from '../../../src/review/cds-hooks/answer-hook.js';
import type { CardContext } from '../../../src/review/cds-hooks/build-risk-card.js';
import { servedModelOrder, type CardPolicy } from '../../../src/review/cds-hooks/choose-card-assessment.js';
import { createCardModelLookup } from '../../../src/review/cds-hooks/card-model-lookup.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { AIAST, CODE_SYSTEMS, RISK_PROBABILITY_SYSTEM } from '../../../src/contracts/fusion-terminology.js';
import type { ServedModel } from '../../../src/contracts/served-model.js';

const NOW = Date.parse('2026-11-23T19:00:00.000Z');
const TITLES: Record<string, string> = {
  'late-fusion': 'Late fusion',
  'attention-fusion': 'Attention fusion',
};

function assessment(
  id: string,
  model: string,
  risk: string | undefined,
  probability = 0.99,
  patient = 'pat-1',
): RiskAssessment {
  return {
    resourceType: 'RiskAssessment',
    id,
    meta: { security: [AIAST] },
    status: 'final',
    subject: { reference: `Patient/${patient}` },
    method: { coding: [{ system: CODE_SYSTEMS.model, code: model, display: `${TITLES[model] ?? model} 1` }] },
    occurrenceDateTime: '2026-11-23T18:00:00.000Z',
    prediction: risk
      ? [
          {
            outcome: { text: 'Acute heart failure' },
            probabilityDecimal: probability,
            qualitativeRisk: { coding: [{ system: RISK_PROBABILITY_SYSTEM, code: risk }] },
          },
        ]
      : [],
  };
}

const served = ['late-fusion', 'attention-fusion'].map(
  (name) =>
    ({ manifest: { name, title: TITLES[name], version: '1' }, cardMarkdown: '' }) as unknown as ServedModel,
);

function cards(assessments: RiskAssessment[], policy: Partial<CardPolicy> = {}) {
  let n = 0;
  const card: CardContext = {
    reviewLaunchUrl: 'https://fusion.example.org/review/launch',
    maxAgeMs: 24 * 3_600_000,
    now: NOW,
    newUuid: () => `00000000-0000-4000-8000-00000000000${n++}`,
    model: createCardModelLookup(() => served, 'https://fusion.example.org'),
  };
  const defaults = loadConfig({ FHIR_BASE_URL: 'https://ehr.example.org/fhir' });
  return answerHook({
    serviceId: 'fhir-fusion-patient-view',
    request: {
      hook: 'patient-view',
      hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
      context: { patientId: 'pat-1' },
      prefetch: {},
    },
    data: { assessments, source: 'prefetch' },
    clientIss: 'https://ehr.example.org',
    policy: {
      models: defaults.CDS_HOOKS_MODELS,
      served: served.map((m) => m.manifest.name),
      minRisk: defaults.CDS_HOOKS_MIN_RISK,
      ...policy,
    },
    card,
  }).response.cards;
}

// Issue 25.4: two near-duplicate cards per patient (one per model) and info cards for every low-risk patient.
describe('CDS cards: one card from the primary model, none below CDS_HOOKS_MIN_RISK', () => {
  it('gives one card per patient by default, from the first served model, naming the outcome; the source names the model', () => {
    const result = cards([
      assessment('ra-a', 'attention-fusion', 'high', 0.97),
      assessment('ra-l', 'late-fusion', 'high', 0.991),
    ]);
    expect(result).toHaveLength(1);
    expect(result[0]?.summary).toBe('High risk of acute heart failure (99%)');
    expect(result[0]?.source).toEqual({
      label: 'fhir-fusion: Late fusion v1',
      url: 'https://fusion.example.org/cds-services/model-cards/late-fusion/1',
    });
    expect(result[0]?.links?.[0]?.appContext).toBe('{"riskAssessment":"RiskAssessment/ra-l"}');
  });

  it('the default preference is ACTIVE_MODELS order, whatever order the repository loaded in', () => {
    expect(
      servedModelOrder(['late-fusion@1', 'attention-fusion@1'], ['attention-fusion', 'late-fusion']),
    ).toEqual(['late-fusion', 'attention-fusion']);
    expect(servedModelOrder([], ['attention-fusion', 'late-fusion'])).toEqual([
      'attention-fusion',
      'late-fusion',
    ]);
  });

  it('CDS_HOOKS_MODELS picks the primary model in order of preference, and only listed models give cards', () => {
    const both = [assessment('ra-a', 'attention-fusion', 'high'), assessment('ra-l', 'late-fusion', 'high')];
    expect(cards(both, { models: ['attention-fusion', 'late-fusion'] }).map((c) => c.source.label)).toEqual([
      'fhir-fusion: Attention fusion v1',
    ]);
    expect(
      cards([both[1]!], { models: ['attention-fusion', 'late-fusion'] }).map((c) => c.source.label),
    ).toEqual(['fhir-fusion: Late fusion v1']);
    expect(cards([both[1]!], { models: ['attention-fusion'] })).toEqual([]);
  });

  it('defaults to moderate: no card for low risk or "cannot assess"; negligible shows them', () => {
    expect(loadConfig({ FHIR_BASE_URL: 'https://ehr.example.org/fhir' }).CDS_HOOKS_MIN_RISK).toBe('moderate');
    expect(cards([assessment('ra-l', 'late-fusion', 'low', 0.04)])).toEqual([]);
    expect(cards([assessment('ra-l', 'late-fusion', undefined)])).toEqual([]);
    expect(cards([assessment('ra-l', 'late-fusion', 'moderate', 0.3)]).map((c) => c.indicator)).toEqual([
      'warning',
    ]);
    expect(cards([assessment('ra-l', 'late-fusion', 'moderate', 0.3)], { minRisk: 'high' })).toEqual([]);
    expect(
      cards([assessment('ra-l', 'late-fusion', 'low', 0.04)], { minRisk: 'negligible' }).map(
        (c) => c.summary,
      ),
    ).toEqual(['Low risk of acute heart failure (4%)']);
  });
});
