import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { startReviewApp, twoModelChart, type ReviewAppHarness } from './review-app-harness.js';

const EHR_ORIGIN = 'https://ehr-portal.example.org';

/** The `frame-ancestors` sources of a CSP header, or undefined when it has none. */
function frameAncestors(csp: unknown): string[] | undefined {
  const directive = String(csp ?? '')
    .split(';')
    .map((d) => d.trim())
    .find((d) => d.startsWith('frame-ancestors '));
  return directive?.split(/\s+/).slice(1);
}

// Issue 25.2: the review app's own CSP replaced the server's, so /review* pages lost frame-ancestors.
describe('review app: frame-ancestors allow-list on every /review route', () => {
  let h: ReviewAppHarness;
  let cookie: string;

  beforeAll(async () => {
    h = await startReviewApp({ resources: twoModelChart(2), env: { REVIEW_FRAME_ANCESTORS: EHR_ORIGIN } });
    cookie = await h.signIn();
  });
  afterAll(async () => h?.close());

  /** A concrete request for each registered route pattern. */
  function requestsFor(route: {
    method: string;
    url: string;
  }): { method: 'GET' | 'POST'; url: string; signedIn: boolean }[] {
    const url = route.url.replace(':id', 'study-1').replace(':file', 'review.css');
    const method = route.method === 'POST' ? 'POST' : 'GET';
    return [
      { method, url, signedIn: true },
      { method, url, signedIn: false },
    ];
  }

  it('covers every registered /review route, signed in or not, success or refusal', async () => {
    const urls = h.routes.map((r) => `${r.method} ${r.url}`).sort();
    expect(urls).toEqual(
      expect.arrayContaining([
        'GET /review',
        'GET /review/launch',
        'GET /review/callback',
        'POST /review/feedback',
        'GET /review/assets/:file',
      ]),
    );
    const extra = [
      {
        method: 'GET' as const,
        url: '/review/launch?iss=https://elsewhere.example.org/fhir',
        signedIn: false,
      },
      { method: 'GET' as const, url: '/review/no-such-page', signedIn: true },
      { method: 'GET' as const, url: '/healthz', signedIn: false },
    ];
    for (const request of [...h.routes.flatMap(requestsFor), ...extra]) {
      const response = await h.app.inject({
        method: request.method,
        url: request.url,
        headers: request.signedIn ? { cookie } : {},
        ...(request.method === 'POST' ? { payload: { verdict: 'agree' } } : {}),
      });
      const sources = frameAncestors(response.headers['content-security-policy']);
      expect(sources, `${request.method} ${request.url} (${response.statusCode})`).toEqual([
        "'self'",
        EHR_ORIGIN,
      ]);
    }
  });

  it('defaults to the launching EHR origins and refuses a wildcard', () => {
    const base = { FHIR_BASE_URL: 'https://ehr.example.org/fhir/R4' };
    expect(loadConfig(base).REVIEW_FRAME_ANCESTORS).toEqual(['https://ehr.example.org']);
    expect(
      loadConfig({ ...base, SMART_APP_ISSUERS: 'https://a.example.org/fhir,https://b.example.org:8443/r4' })
        .REVIEW_FRAME_ANCESTORS,
    ).toEqual(['https://a.example.org', 'https://b.example.org:8443']);
    expect(() => loadConfig({ ...base, REVIEW_FRAME_ANCESTORS: '*' })).toThrow(/REVIEW_FRAME_ANCESTORS/);
    expect(() => loadConfig({ ...base, REVIEW_FRAME_ANCESTORS: 'https://*.example.org' })).toThrow(
      /REVIEW_FRAME_ANCESTORS/,
    );
  });
});
