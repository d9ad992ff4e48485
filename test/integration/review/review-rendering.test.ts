import type { Observation, RiskAssessment } from '@medplum/fhirtypes';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createEhrAuth, jwksRoute } from '../../../src/fhir/ehr-auth.js';
import { assessmentView, isFusionAssessment } from '../../../src/review/smart-app/assessment-view.js';
import { ecgStripSvg } from '../../../src/review/smart-app/ecg-strip-svg.js';
import { buildFeedbackProvenance, reviewView } from '../../../src/review/smart-app/feedback-provenance.js';
import { contributionChartSvg, trendChartSvg } from '../../../src/review/smart-app/svg-charts.js';
import { AIAST, CODE_SYSTEMS, EXTENSION_URLS } from '../../../src/contracts/fusion-terminology.js';
import { testConfig } from '../../helpers/test-config.js';

const assessment: RiskAssessment = {
  resourceType: 'RiskAssessment',
  id: 'ra-1',
  meta: { versionId: '3', security: [AIAST] },
  status: 'final',
  subject: { reference: 'Patient/p-1' },
  method: { coding: [{ system: CODE_SYSTEMS.model, code: 'late-fusion' }], text: 'Late fusion' },
  occurrenceDateTime: '2026-01-02T03:04:05Z',
  prediction: [
    {
      outcome: { text: 'Acute heart failure' },
      probabilityDecimal: 0.42,
      qualitativeRisk: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/risk-probability', code: 'moderate', display: 'Moderate likelihood' }] },
    },
  ],
  extension: [
    {
      url: EXTENSION_URLS.modalityContribution,
      extension: [
        { url: 'modality', valueCoding: { code: 'image', display: 'Image' } },
        { url: 'outcome', valueCodeableConcept: { text: 'Acute heart failure' } },
        { url: 'delta', valueDecimal: -0.12 },
      ],
    },
    {
      url: EXTENSION_URLS.featureContribution,
      extension: [
        { url: 'feature', valueString: 'bnp' },
        { url: 'value', valueQuantity: { value: 812, unit: 'pg/mL' } },
        { url: 'outcome', valueCodeableConcept: { text: 'Acute heart failure' } },
        { url: 'delta', valueDecimal: 0.2 },
      ],
    },
    {
      url: EXTENSION_URLS.missingModality,
      extension: [
        { url: 'modality', valueCoding: { code: 'ecg', display: 'ECG' } },
        { url: 'reason', valueCoding: { code: 'none-in-window', display: 'None in the look-back window' } },
      ],
    },
  ],
};

describe('review page building blocks', () => {
  it('reads a fhir-fusion RiskAssessment and refuses one without the AIAST label', () => {
    expect(isFusionAssessment(assessment)).toBe(true);
    expect(isFusionAssessment({ ...assessment, meta: {} })).toBe(false);
    const view = assessmentView(assessment);
    expect(view.predictions).toEqual([{ outcome: 'Acute heart failure', probability: 0.42, riskCode: 'moderate', riskDisplay: 'Moderate likelihood' }]);
    expect(view.modalities).toEqual([{ label: 'Image', outcome: 'Acute heart failure', delta: -0.12 }]);
    expect(view.features[0]).toMatchObject({ label: 'bnp', value: 812, unit: 'pg/mL', delta: 0.2 });
    expect(view.missing).toEqual([{ modality: 'ECG', reason: 'None in the look-back window', detail: undefined }]);
  });

  it('draws the trend oldest first and signed contribution bars', () => {
    const svg = trendChartSvg([
      {
        label: 'Late fusion',
        points: [
          { date: '2026-01-02T00:00:00Z', probability: 0.8, riskCode: 'high' },
          { date: '2026-01-01T00:00:00Z', probability: 0.2, riskCode: 'low' },
        ],
      },
    ]);
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(xs).toHaveLength(2);
    // Oldest (20 %) on the left and lower on the chart than the newer 80 %.
    expect(xs[0]?.[0]).toBeLessThan(xs[1]?.[0] ?? 0);
    expect(xs[0]?.[1]).toBeGreaterThan(xs[1]?.[1] ?? 0);
    const bars = contributionChartSvg([
      { label: 'Labs', delta: 0.1 },
      { label: '<Image>', delta: -0.05 },
    ]);
    expect(bars).toContain('class="bar-up"');
    expect(bars).toContain('class="bar-down"');
    expect(bars).toContain('&lt;Image&gt;');
    expect(bars).not.toContain('<Image>');
  });

  it('writes feedback as a verifier Provenance and reads it back', () => {
    const provenance = buildFeedbackProvenance({
      assessment: { id: 'ra-1', versionId: '3' },
      verdict: 'disagree',
      comment: '  No signs of failure. ',
      fhirUser: 'Practitioner/dr-1',
      recorded: '2026-01-03T00:00:00Z',
    });
    expect(provenance.target).toEqual([{ reference: 'RiskAssessment/ra-1' }]);
    expect(provenance.entity).toEqual([{ role: 'source', what: { reference: 'RiskAssessment/ra-1/_history/3' } }]);
    expect(provenance.agent?.[0]?.type?.coding?.[0]?.code).toBe('verifier');
    expect(reviewView(provenance)).toEqual({
      verdict: 'disagree',
      comment: 'No signs of failure.',
      reviewer: 'Practitioner/dr-1',
      recorded: '2026-01-03T00:00:00Z',
      target: 'RiskAssessment/ra-1',
    });
  });

  it('renders a 12-lead strip from SampledData and nothing from an Observation without leads', () => {
    const samples = Array.from({ length: 2500 }, (_, k) => (k % 500 < 10 ? 1000 : 0)).join(' ');
    const lead = (code: string, display: string) => ({
      code: { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.24', code, display }] },
      valueSampledData: { origin: { value: 0, unit: 'uV', code: 'uV', system: 'http://unitsofmeasure.org' }, period: 2, dimensions: 1, data: samples },
    });
    const ecg: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'ECG' },
      component: [lead('131329', 'MDC_ECG_LEAD_I'), lead('131330', 'MDC_ECG_LEAD_II')],
    };
    const svg = ecgStripSvg(ecg) ?? '';
    // I and II given; III, aVR, aVL, aVF derived; rhythm strip II: 7 traces.
    expect(svg.match(/<polyline/g)?.length).toBe(7);
    expect(svg).toContain('>aVF<');
    expect(ecgStripSvg({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 1 } })).toBeUndefined();
  });

  it('builds no EHR auth without Backend Services and then publishes an empty JWKS', async () => {
    const config = testConfig({ FHIR_BASE_URL: 'http://ehr.test/fhir' });
    expect(await createEhrAuth(config)).toBeUndefined();
    const app = Fastify();
    await app.register(jwksRoute, { keys: undefined });
    const response = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(response.json()).toEqual({ keys: [] });
    await app.close();
  });
});
