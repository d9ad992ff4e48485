import type { Provenance, RiskAssessment } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIAST } from '../../../src/contracts/fusion-terminology.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';
import { startReviewSandbox, waitFor, type ReviewSandbox } from './review-sandbox.js';

/** `name=value` pairs from Set-Cookie headers, for the next request's Cookie header. */
function cookiesFrom(setCookie: string | string[] | undefined): Record<string, string> {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  return Object.fromEntries(list.map((c) => (c.split(';')[0] ?? '').split('=') as [string, string]));
}

function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

describe('review app: SMART launch, review page, feedback, and Backend Services for the pipeline', () => {
  let db: TestDatabase;
  let sandbox: ReviewSandbox;
  let patientId: string;
  let assessment: RiskAssessment;

  beforeAll(async () => {
    db = await createTestDatabase();
    sandbox = await startReviewSandbox({ databaseUrl: db.url, patients: 2, seed: 901 });
    patientId = sandbox.patientIds[0] ?? '';
    assessment = await waitFor(async () => {
      const found = await sandbox.admin.searchResources('RiskAssessment', { subject: `Patient/${patientId}` }, { cache: 'no-cache' });
      return found[0];
    }, 'a RiskAssessment written through Backend Services');
  });

  afterAll(async () => {
    await sandbox?.close();
    await db?.drop();
  });

  const app = () => sandbox.server.server;

  /** Runs the launch up to the EHR's redirect back to the app; returns the callback URL and the launch cookie. */
  async function launchToCallback(query: Record<string, string>, decision = 'approve'): Promise<{ callback: URL; cookies: Record<string, string> }> {
    const launch = await app().inject({ method: 'GET', url: `/review/launch?${new URLSearchParams(query).toString()}` });
    expect(launch.statusCode).toBe(302);
    const cookies = cookiesFrom(launch.headers['set-cookie']);
    const authorizeUrl = new URL(launch.headers.location as string);
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('aud')).toBe(sandbox.fhirBaseUrl);
    const consent = await fetch(authorizeUrl, { redirect: 'manual' });
    expect(consent.status).toBe(200);
    const requestId = /name="request_id" value="([^"]+)"/.exec(await consent.text())?.[1] ?? '';
    const decided = await fetch(new URL('/auth/authorize/decision', authorizeUrl), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ request_id: requestId, decision, ...(query.launch ? {} : { patient: patientId }) }).toString(),
    });
    expect(decided.status).toBe(302);
    return { callback: new URL(decided.headers.get('location') ?? ''), cookies };
  }

  async function signIn(): Promise<Record<string, string>> {
    const launch = sandbox.auth.createLaunch({ patient: patientId });
    const { callback, cookies } = await launchToCallback({ iss: sandbox.fhirBaseUrl, launch });
    const done = await app().inject({ method: 'GET', url: callback.pathname + callback.search, headers: { cookie: cookieHeader(cookies) } });
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe('/review');
    const set = [done.headers['set-cookie']].flat().join('\n');
    // Loopback is a secure context: partitioned cookies, so the app also works in an EHR's frame (issue 25.0).
    expect(set).toMatch(/fusion_review_session=[^;]+; Path=\/review; Max-Age=\d+; HttpOnly; SameSite=None; Secure; Partitioned/);
    return { ...cookies, ...cookiesFrom(done.headers['set-cookie']) };
  }

  it('fetches from the EHR with a SMART Backend Services token and publishes both rotation keys', async () => {
    expect(assessment.meta?.security?.some((c) => c.code === AIAST.code)).toBe(true);
    expect(sandbox.backendTokenRequests).toContain('fhir-fusion');
    // Assembly reads in batch Bundles (POST {base}/), write-back searches for the previous assessment.
    expect(sandbox.backendFhirRequests).toContain('/fhir/');
    expect(sandbox.backendFhirRequests).toContain('/fhir/RiskAssessment');
    const jwks = await app().inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.statusCode).toBe(200);
    const keys = jwks.json().keys as Array<{ kid: string; kty: string; d?: string }>;
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => k.kty === 'EC' && k.d === undefined)).toBe(true);
    // The newest key (listed last) is the one registered with the EHR and the one that works.
    const registered = sandbox.auth.options.clients.find((c) => c.clientId === 'fhir-fusion')?.jwks?.keys[0]?.kid;
    expect(keys[1]?.kid).toBe(registered);
    expect(keys[0]?.kid).not.toBe(registered);
  });

  it('EHR launch → consent → review page with the assessment, its charts, and feedback written back as a verifier Provenance', async () => {
    const cookies = await signIn();
    const page = await app().inject({ method: 'GET', url: '/review', headers: { cookie: cookieHeader(cookies) } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    const html = page.body;
    expect(html).toContain('Latest assessment');
    expect(html).toContain('class="chart trend"');
    expect(html).toContain('class="chart bars"');
    expect(html).toContain(`RiskAssessment/${assessment.id}`);
    expect(html).toContain('execution provider');
    // No external resources: stylesheet and images are relative to fhir-fusion, and there is no script.
    expect(html).not.toMatch(/<(link|img)[^>]+(src|href)="https?:/);
    expect(html).not.toContain('<script');
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const target = /name="assessment" value="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(target).toBe(assessment.id);

    const forged = await app().inject({
      method: 'POST',
      url: '/review/feedback',
      headers: { cookie: cookieHeader(cookies), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ csrf: 'not-the-token', assessment: target, verdict: 'agree' }).toString(),
    });
    expect(forged.statusCode).toBe(403);

    const saved = await app().inject({
      method: 'POST',
      url: '/review/feedback',
      headers: { cookie: cookieHeader(cookies), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ csrf, assessment: target, verdict: 'disagree', comment: 'Chest film looks clear to me.' }).toString(),
    });
    expect(saved.statusCode).toBe(303);
    const provenances = await sandbox.admin.searchResources('Provenance', { target: `RiskAssessment/${assessment.id}` }, { cache: 'no-cache' });
    const review = provenances.find((p: Provenance) => p.agent?.some((a) => a.type?.coding?.some((c) => c.code === 'verifier')));
    expect(review?.agent?.[0]?.who?.reference).toBe(`Practitioner/${sandbox.practitionerId}`);
    expect(review?.extension?.map((e) => e.valueCode ?? e.valueString)).toEqual(['disagree', 'Chest film looks clear to me.']);

    const next = await app().inject({ method: 'GET', url: '/review?saved=1', headers: { cookie: cookieHeader(cookies) } });
    expect(next.body).toContain('Your review was saved');
    expect(next.body).toContain('Disagreed');
    expect(next.body).toContain('Chest film looks clear to me.');
  });

  it('shows the similar past cases the clinician may read (the other patient, never this one), also through $similar-cases', async () => {
    const pool = sandbox.server.runtime.pool;
    await waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM similar_case');
      return rows[0]!.n >= sandbox.patientIds.length ? true : undefined;
    }, 'every assessed patient in the similar-case index');
    const other = sandbox.patientIds[1] ?? '';
    const cookies = await signIn();
    const page = await app().inject({ method: 'GET', url: '/review', headers: { cookie: cookieHeader(cookies) } });
    const section = /<section class="card similar"[\s\S]*?<\/section>/.exec(page.body)?.[0] ?? '';
    expect(section).toContain('Similar past cases');
    expect(section).toContain(`DiagnosticReport/${other}-ecg-report`);
    expect(section).not.toContain(`DiagnosticReport/${patientId}-ecg-report`);
    expect(section).toContain('trained on synthetic data');

    // The same neighbours through the FHIR operation, with the clinician's own token.
    const { rows } = await pool.query<{ access_token: string }>('SELECT access_token FROM review_session ORDER BY expires_at DESC LIMIT 1');
    const token = rows[0]!.access_token;
    const answer = await app().inject({ method: 'GET', url: `/fhir-fusion/Patient/${patientId}/$similar-cases?_count=3`, headers: { authorization: `Bearer ${token}` } });
    expect(answer.statusCode).toBe(200);
    const bundle = answer.json() as {
      type: string;
      meta?: { security?: Array<{ code?: string }> };
      entry?: Array<{ resource: { id: string; resourceType: string; subject?: { reference?: string } }; search: { mode: string; score: number } }>;
    };
    expect(bundle.type).toBe('searchset');
    // The matches, then the model's Device and card as included entries (AI Transparency IG labels).
    const matches = bundle.entry?.filter((e) => e.search.mode === 'match');
    expect(matches?.map((e) => e.resource.subject?.reference)).toEqual([`Patient/${other}`]);
    expect(matches?.[0]?.search.score).toBeGreaterThan(-1);
    expect(bundle.meta?.security?.map((c) => c.code)).toContain('AIAST');
    expect(bundle.entry?.filter((e) => e.search.mode === 'include').map((e) => e.resource.resourceType)).toEqual(['Device', 'DocumentReference']);
    const refused = await app().inject({ method: 'GET', url: `/fhir-fusion/Patient/${patientId}/$similar-cases`, headers: { authorization: 'Bearer not-a-token' } });
    expect(refused.statusCode).toBe(401);

    // $similar-ecgs the same way: the clinician's token reads neighbours, a made-up one gets 401.
    const ecgs = await app().inject({ method: 'GET', url: '/fhir-fusion/$similar-ecgs?text=atrial%20fibrillation&_count=3', headers: { authorization: `Bearer ${token}` } });
    expect(ecgs.statusCode).toBe(200);
    const ecgsRefused = await app().inject({ method: 'GET', url: '/fhir-fusion/$similar-ecgs?text=atrial%20fibrillation', headers: { authorization: 'Bearer not-a-token' } });
    expect(ecgsRefused.statusCode).toBe(401);
    // The token's patient scope names this patient: the other patient's neighbours are refused.
    const otherPatients = await app().inject({ method: 'GET', url: `/fhir-fusion/Patient/${other}/$similar-cases`, headers: { authorization: `Bearer ${token}` } });
    expect(otherPatients.statusCode).toBe(403);

    // Issue 18.3: this sandbox enforces tokens and scopes on every read (SMART configured), so a
    // fhir-fusion that only forwarded the caller's bearer would get 401/403s here, never reports.
    const base = sandbox.fhirBaseUrl;
    const neighbour = `${base}/DiagnosticReport/${other}-ecg-report`;
    expect((await fetch(neighbour, { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);
    expect((await fetch(neighbour)).status).toBe(401);
    expect((await fetch(`${base}/Patient/${other}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
  });

  it('standalone launch asks for the patient and ends on the same page', async () => {
    const { callback, cookies } = await launchToCallback({ iss: sandbox.fhirBaseUrl });
    const done = await app().inject({ method: 'GET', url: callback.pathname + callback.search, headers: { cookie: cookieHeader(cookies) } });
    expect(done.statusCode).toBe(303);
    const page = await app().inject({ method: 'GET', url: '/review', headers: { cookie: cookieHeader({ ...cookies, ...cookiesFrom(done.headers['set-cookie']) }) } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Latest assessment');
  });

  it('refuses a launch from an iss that is not configured, with an error page', async () => {
    const response = await app().inject({ method: 'GET', url: '/review/launch?iss=https%3A%2F%2Fevil.example%2Ffhir&launch=x' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/text\/html/);
    expect(response.body).toContain('Launch refused: unknown EHR');
    expect(response.body).toContain('https://evil.example/fhir');
    expect(response.body).not.toMatch(/\n\s+at /);
  });

  it('refuses a forged state, with an error page', async () => {
    const launch = sandbox.auth.createLaunch({ patient: patientId });
    const { callback, cookies } = await launchToCallback({ iss: sandbox.fhirBaseUrl, launch });
    callback.searchParams.set('state', 'forged-state-value');
    const response = await app().inject({ method: 'GET', url: callback.pathname + callback.search, headers: { cookie: cookieHeader(cookies) } });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('Sign-in could not be verified');
    expect(response.headers['set-cookie']).toBeUndefined();
    // The right state from another browser (no launch cookie) is refused too.
    const { callback: other } = await launchToCallback({ iss: sandbox.fhirBaseUrl, launch: sandbox.auth.createLaunch({ patient: patientId }) });
    const stolen = await app().inject({ method: 'GET', url: other.pathname + other.search });
    expect(stolen.statusCode).toBe(400);
    expect(stolen.body).toContain('Sign-in could not be verified');
  });

  it('refuses a launch whose PKCE verifier is missing, with an error page', async () => {
    const launch = sandbox.auth.createLaunch({ patient: patientId });
    const { callback, cookies } = await launchToCallback({ iss: sandbox.fhirBaseUrl, launch });
    await sandbox.server.runtime.pool.query("UPDATE review_launch SET code_verifier = ''");
    const response = await app().inject({ method: 'GET', url: callback.pathname + callback.search, headers: { cookie: cookieHeader(cookies) } });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('PKCE code verifier');
  });

  it('refuses an expired token, with an error page', async () => {
    const cookies = await signIn();
    await sandbox.server.runtime.pool.query("UPDATE review_session SET expires_at = now() - interval '1 minute'");
    const response = await app().inject({ method: 'GET', url: '/review', headers: { cookie: cookieHeader(cookies) } });
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain('Your session has expired');
    const anonymous = await app().inject({ method: 'GET', url: '/review' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.body).toContain('Not signed in');
  });
});
