import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImagingStudy, Observation } from '@medplum/fhirtypes';
import { AIAST, PROFILE_URLS } from '../../../src/contracts/fusion-terminology.js';
import {
  fusionAssessment,
  startReviewApp,
  twoModelChart,
  type ReviewAppHarness,
} from './review-app-harness.js';

/** The `<g class="series">` groups of the trend chart: model named and the points' y values, oldest first. */
function trendSeries(html: string): { model: string; ys: number[] }[] {
  const svg = /<svg class="chart trend"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
  return [...svg.matchAll(/<g class="series" data-model="([^"]*)">([\s\S]*?)<\/g>/g)].map((m) => ({
    model: m[1] ?? '',
    ys: [...(m[2] ?? '').matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((c) => Number(c[1])),
  }));
}

describe('review page with assessments by two models (attention-fusion and late-fusion alternating)', () => {
  let h: ReviewAppHarness;
  let cookie: string;

  beforeAll(async () => {
    const otherPatients = fusionAssessment({
      id: 'ra-other',
      model: 'late-fusion',
      title: 'Late fusion',
      at: '2026-01-09T10:00:00Z',
      probability: 0.9,
      riskCode: 'high',
      inputs: [],
      patientId: 'p-2',
    });
    h = await startReviewApp({ resources: [...twoModelChart(40), otherPatients] });
    cookie = await h.signIn();
  });
  afterAll(async () => h?.close());

  const page = async (url = '/review') => {
    const response = await h.app.inject({ method: 'GET', url, headers: { cookie } });
    expect(response.statusCode, response.body).toBe(200);
    return response.body;
  };

  // Issue 25.1: the chart joined both models' assessments into one zig-zag line.
  it('draws one line per model in the risk-over-time chart, each named in the legend', async () => {
    const html = await page();
    const series = trendSeries(html);
    expect(series.map((s) => s.model).sort()).toEqual(['Attention fusion', 'Late fusion']);
    for (const s of series) expect(s.ys).toHaveLength(3);
    // Attention fusion falls (0.8 → 0.7), late fusion rises (0.22 → 0.3): monotone per line, no zig-zag.
    const attention = series.find((s) => s.model === 'Attention fusion')?.ys ?? [];
    const late = series.find((s) => s.model === 'Late fusion')?.ys ?? [];
    expect(attention).toEqual([...attention].sort((a, b) => a - b));
    expect(late).toEqual([...late].sort((a, b) => b - a));
    const legend = /<g class="legend">([\s\S]*?)<\/g>/.exec(html)?.[1] ?? '';
    expect(legend).toContain('>Attention fusion</text>');
    expect(legend).toContain('>Late fusion</text>');
  });

  /** The assessment id the page's review form targets (the one the page opened on). */
  const formTarget = (html: string) =>
    /<input type="hidden" name="assessment" value="([^"]+)">/.exec(html)?.[1];

  // Issue 25.3: the card's smart link sent an appContext the app never read.
  it("opens on the assessment a CDS card's appContext names", async () => {
    h.ehr.grant.appContext = JSON.stringify({ riskAssessment: 'RiskAssessment/ra-2' });
    const signedIn = await h.signIn();
    expect(h.lastLocation).toBe('/review?assessment=ra-2');
    const response = await h.app.inject({
      method: 'GET',
      url: h.lastLocation,
      headers: { cookie: signedIn },
    });
    expect(response.statusCode).toBe(200);
    expect(formTarget(response.body)).toBe('ra-2');
    expect(response.body).toMatch(/<dt>Assessment<\/dt><dd>(<a [^>]*>)?RiskAssessment\/ra-2</);
    // Without an appContext the page opens on the newest (ra-5).
    h.ehr.grant.appContext = undefined;
    const plain = await h.signIn();
    expect(h.lastLocation).toBe('/review');
    expect(
      formTarget((await h.app.inject({ method: 'GET', url: '/review', headers: { cookie: plain } })).body),
    ).toBe('ra-5');
  });

  it('refuses to open an appContext assessment of another patient: says so and opens on the newest', async () => {
    h.ehr.grant.appContext = JSON.stringify({ riskAssessment: 'RiskAssessment/ra-other' });
    const signedIn = await h.signIn();
    h.ehr.grant.appContext = undefined;
    const response = await h.app.inject({
      method: 'GET',
      url: h.lastLocation,
      headers: { cookie: signedIn },
    });
    expect(response.statusCode).toBe(200);
    expect(formTarget(response.body)).toBe('ra-5');
    expect(response.body).toContain('not an AI assessment of the patient in context');
    expect(response.body).not.toContain('RiskAssessment/ra-other"');
    // A malformed appContext is ignored.
    h.ehr.grant.appContext = '{"riskAssessment":"https://elsewhere.example.org/fhir/RiskAssessment/ra-2"}';
    await h.signIn();
    h.ehr.grant.appContext = undefined;
    expect(h.lastLocation).toBe('/review');
  });

  // Issue 25.5: one page view made ~50 FHIR requests (one read per input Observation).
  it('makes at most 5 FHIR requests per page view: the 40 inputs, card and device in one batch', async () => {
    const before = h.ehr.fhirRequests.length;
    const html = await page();
    const made = h.ehr.fhirRequests.slice(before);
    expect(
      made.length,
      JSON.stringify(made.map((r) => `${r.method} ${r.path.split('?')[0]}`)),
    ).toBeLessThanOrEqual(5);
    const batches = made.filter((r) => r.batch);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.batch).toEqual(
      expect.arrayContaining(Array.from({ length: 40 }, (_, i) => `Observation/obs-${i}`)),
    );
    expect(made.filter((r) => r.path.startsWith('Observation/'))).toEqual([]);
    expect(html).toContain('Inputs (40)');
    expect(html).not.toContain('not readable with your access');
  });

  it('still shows every input from an EHR without batch support (one read each)', async () => {
    h.ehr.options.batch = false;
    try {
      const before = h.ehr.fhirRequests.length;
      const html = await page();
      expect(h.ehr.fhirRequests.slice(before).filter((r) => r.path.startsWith('Observation/'))).toHaveLength(
        40,
      );
      expect(html).toContain('Inputs (40)');
      expect(html).not.toContain('not readable with your access');
    } finally {
      h.ehr.options.batch = true;
    }
  });

  // Issue 25.6: only the newest model's assessment had Why / What made it; the clinician showed as
  // a bare Practitioner reference; input links pointed at the FHIR server, unreadable in a browser.
  it("shows Why and What made it for each model's newest assessment", async () => {
    const html = await page();
    const sections = (cls: string) =>
      [...html.matchAll(new RegExp(`<section class="card ${cls}"[^>]*data-assessment="([^"]+)"`, 'g'))].map(
        (m) => m[1],
      );
    expect(sections('why')).toEqual(['ra-5', 'ra-4']);
    expect(sections('provenance')).toEqual(['ra-5', 'ra-4']);
    expect(html).toMatch(/What made it <span class="h-sub">Attention fusion<\/span>/);
    expect(html).toMatch(/What made it <span class="h-sub">Late fusion<\/span>/);
  });

  it('names the signed-in clinician from their fhirUser resource', async () => {
    const html = await page();
    expect(/<div class="user"[^>]*>([^<]*)<\/div>/.exec(html)?.[1]).toBe('Dr Dana Review');
  });

  it('shows the inputs inline, never as links to the FHIR server the browser cannot read', async () => {
    const html = await page();
    expect(html).toContain('Lab 3: <span class="input-value">3 mg/dL</span>');
    expect(html).not.toContain('href="https://ehr.example.org');
  });
});

describe('review page: image findings of every model on the page (issue 20)', () => {
  let h: ReviewAppHarness;
  let cookie: string;

  beforeAll(async () => {
    const study: ImagingStudy = {
      resourceType: 'ImagingStudy',
      id: 'img-1',
      status: 'available',
      subject: { reference: 'Patient/p-1' },
      description: 'Chest radiograph',
    };
    const finding: Observation = {
      resourceType: 'Observation',
      id: 'find-1',
      meta: { profile: [PROFILE_URLS.ImagingFinding], security: [AIAST] },
      status: 'preliminary',
      identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:2.25.1' }],
      code: {
        coding: [{ system: 'http://snomed.info/sct', code: '8186001', display: 'Cardiomegaly' }],
        text: 'Cardiomegaly',
      },
      subject: { reference: 'Patient/p-1' },
      note: [
        {
          text: 'Region where the model Image CNN 1 located Cardiomegaly: an AI finding for review, not a diagnosis.',
        },
      ],
    };
    // The image model found it; the fusion model, assessed later, is the one the page opens on.
    const image = fusionAssessment({
      id: 'ra-image',
      model: 'image-cnn',
      title: 'Image CNN',
      at: '2026-01-07T10:00:00Z',
      probability: 0.4,
      riskCode: 'moderate',
      inputs: ['ImagingStudy/img-1', 'Observation/find-1'],
    });
    const fusion = fusionAssessment({
      id: 'ra-fusion',
      model: 'attention-fusion',
      title: 'Attention fusion',
      at: '2026-01-08T10:00:00Z',
      probability: 0.5,
      riskCode: 'high',
      inputs: ['ImagingStudy/img-1'],
    });
    h = await startReviewApp({ resources: [...twoModelChart(2), study, finding, image, fusion] });
    cookie = await h.signIn();
  });
  afterAll(async () => h?.close());

  it("overlays the image model's finding on the image although the page opens on the fusion assessment", async () => {
    const response = await h.app.inject({ method: 'GET', url: '/review', headers: { cookie } });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.body).toContain('id="localisation-find-1"');
    expect(response.body).toContain('thumbnail.png?finding=find-1');
    expect(response.body).toContain('an AI finding for review, not a diagnosis');
    expect(response.body.match(/id="localisation-find-1"/g)).toHaveLength(1);
  });
});
