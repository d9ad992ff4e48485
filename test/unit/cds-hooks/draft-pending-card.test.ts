import type { DiagnosticReport, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { answerHook } from '../../../src/review/cds-hooks/answer-hook.js';
import { loadHookData } from '../../../src/review/cds-hooks/load-hook-data.js';
import { createCardModelLookup } from '../../../src/review/cds-hooks/card-model-lookup.js';
import { AIAST, CODE_SYSTEMS, RISK_PROBABILITY_SYSTEM } from '../../../src/contracts/fusion-terminology.js';
import type { ServedModel } from '../../../src/contracts/served-model.js';
import { DRAFT_REPORT_PROFILE } from '../../../src/writeback/build-draft-report.js';

const LAUNCH = 'https://fusion.example.org/review/launch';
const served = [
  {
    manifest: { name: 'late-fusion', title: 'Late fusion', version: '1' },
    cardMarkdown: '',
  } as unknown as ServedModel,
];

const assessment: RiskAssessment = {
  resourceType: 'RiskAssessment',
  id: 'ra-1',
  meta: { security: [AIAST] },
  status: 'final',
  subject: { reference: 'Patient/pat-1' },
  method: { coding: [{ system: CODE_SYSTEMS.model, code: 'late-fusion', display: 'Late fusion 1' }] },
  occurrenceDateTime: '2026-11-23T18:00:00.000Z',
  prediction: [
    {
      outcome: { text: 'Acute heart failure' },
      probabilityDecimal: 0.9,
      qualitativeRisk: { coding: [{ system: RISK_PROBABILITY_SYSTEM, code: 'high' }] },
    },
  ],
};

function draft(status: DiagnosticReport['status'], patient = 'pat-1'): DiagnosticReport {
  return {
    resourceType: 'DiagnosticReport',
    id: `dr-${status}-${patient}`,
    meta: { profile: [DRAFT_REPORT_PROFILE], security: [AIAST] },
    status,
    code: { text: 'Chest radiograph description (AI draft)' },
    subject: { reference: `Patient/${patient}` },
    conclusion: 'Enlarged cardiac silhouette.',
  };
}

function card(resources: Resource[]) {
  const cards = answerHook({
    serviceId: 'fhir-fusion-patient-view',
    request: {
      hook: 'patient-view',
      hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
      context: { patientId: 'pat-1' },
      prefetch: {},
    },
    data: { assessments: resources, source: 'prefetch' },
    clientIss: 'https://ehr.example.org',
    policy: { models: [], served: ['late-fusion'], minRisk: 'moderate' },
    card: {
      reviewLaunchUrl: LAUNCH,
      maxAgeMs: 7 * 86_400_000,
      now: Date.parse('2026-11-23T19:00:00.000Z'),
      newUuid: () => '00000000-0000-4000-8000-000000000001',
      model: createCardModelLookup(() => served, 'https://fusion.example.org'),
    },
  }).response.cards;
  expect(cards).toHaveLength(1);
  return cards[0]!;
}

describe('CDS card and AI-drafted descriptions awaiting review (issue #20)', () => {
  it('says a preliminary AI-drafted description awaits review and links to the review app', () => {
    const c = card([assessment, draft('preliminary')]);
    expect(c.detail).toContain(
      'A preliminary AI-drafted description of the chest radiograph awaits clinician review',
    );
    expect(c.links).toContainEqual({
      label: 'Review the AI-drafted description',
      url: LAUNCH,
      type: 'smart',
    });
    expect(c.summary).toBe('High risk of acute heart failure (90%)');
  });

  it('says nothing of drafts already accepted or rejected, or of another patient’s', () => {
    const c = card([assessment, draft('final'), draft('entered-in-error'), draft('preliminary', 'pat-2')]);
    expect(c.detail ?? '').not.toContain('AI-drafted');
    expect(c.links?.map((l) => l.label)).toEqual(['Open in fhir-fusion review']);
  });
});

describe('hook data without prefetch: the drafts search (issue #20)', () => {
  const EHR = 'https://ehr.example.org/fhir';
  async function load(searchDrafts: boolean) {
    const urls: string[] = [];
    const ownFetch = async (url: string | URL | Request): Promise<Response> => {
      urls.push(String(url));
      const body = String(url).includes('/DiagnosticReport?')
        ? { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: draft('preliminary') }] }
        : { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: assessment }] };
      return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/fhir+json' } });
    };
    const loaded = await loadHookData(
      {
        hook: 'patient-view',
        hookInstance: 'h-1',
        fhirServer: EHR,
        context: { patientId: 'pat-1' },
        prefetch: {},
      },
      { clientFetch: ownFetch, ownFetch, ownFhirBaseUrl: EHR, allowedFhirServers: [EHR], searchDrafts },
    );
    if (!loaded.ok) throw new Error('hook data not loaded');
    return { urls, types: loaded.value.assessments.map((r) => r.resourceType) };
  }

  it('searches the preliminary AI drafts beside the assessments when drafting is on', async () => {
    const { urls, types } = await load(true);
    expect(types).toEqual(['RiskAssessment', 'DiagnosticReport']);
    expect(urls[1]).toContain('/DiagnosticReport?patient=pat-1&_security=');
    expect(urls[1]).toContain('&status=preliminary');
  });

  it('costs the EHR no second search when drafting is off', async () => {
    const { urls, types } = await load(false);
    expect(urls).toHaveLength(1);
    expect(types).toEqual(['RiskAssessment']);
  });
});
