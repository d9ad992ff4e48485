import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s256Challenge } from '../../../src/sandbox/smart/pkce.js';
import { requireSmartToken } from '../../../src/sandbox/smart/require-smart-token.js';
import { smartAuthPlugin } from '../../../src/sandbox/smart/smart-auth-plugin.js';

const ISSUER = 'http://sandbox.test/fhir';
const REDIRECT = 'https://app.test/callback';

describe('SMART EHR launch with PKCE (sandbox authorization server)', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = Fastify();
    await app.register(smartAuthPlugin, {
      issuer: ISSUER,
      fhirPrefix: '/fhir',
      clients: [
        {
          clientId: 'review-app',
          type: 'public',
          redirectUris: [REDIRECT],
          scopes: ['launch', 'launch/patient', 'openid', 'fhirUser', 'offline_access', 'patient/*.rs'],
        },
      ],
      users: [{ id: 'dr-who', fhirUser: 'Practitioner/dr-who' }],
      patients: [{ id: 'p-standalone', display: 'Standalone patient' }],
    });
    // A stand-in FHIR endpoint guarded by the hook, as the sandbox EHR will be.
    await app.register(async (fhir) => {
      fhir.addHook(
        'onRequest',
        requireSmartToken({
          verifyAccessToken: (t) => app.smartAuth.verifyAccessToken(t),
          fhirPrefix: '/fhir',
        }),
      );
      fhir.get('/fhir/:type', async (request) => ({
        resourceType: 'Bundle',
        type: 'searchset',
        total: 0,
        seen: request.smartToken?.patient,
      }));
      fhir.get('/fhir/:type/:id', async (request) => ({
        resourceType: (request.params as { type: string }).type,
      }));
      fhir.post('/fhir/:type', async () => ({ created: true }));
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  const pkce = () => {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: s256Challenge(verifier) };
  };

  const authorizeUrl = (params: Record<string, string>) =>
    `/auth/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: 'review-app',
      redirect_uri: REDIRECT,
      scope: 'launch openid fhirUser offline_access patient/Observation.rs patient/Patient.rs',
      state: 'st-123',
      aud: ISSUER,
      code_challenge_method: 'S256',
      ...params,
    }).toString()}`;

  /** Follows authorize → consent → redirect by hand; returns the redirect URL. */
  const authorize = async (
    params: Record<string, string>,
    decision = 'approve',
    patient?: string,
  ): Promise<URL> => {
    const page = await app.inject({ method: 'GET', url: authorizeUrl(params) });
    if (page.statusCode === 302) return new URL(page.headers.location as string);
    expect(page.statusCode).toBe(200);
    const requestId = /name="request_id" value="([^"]+)"/.exec(page.body)?.[1] as string;
    const decided = await app.inject({
      method: 'POST',
      url: '/auth/authorize/decision',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        request_id: requestId,
        decision,
        ...(patient ? { patient } : {}),
      }).toString(),
    });
    expect(decided.statusCode).toBe(302);
    return new URL(decided.headers.location as string);
  };

  const token = (form: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });

  it('publishes the SMART configuration under the FHIR base', async () => {
    const response = await app.inject({ method: 'GET', url: '/fhir/.well-known/smart-configuration' });
    expect(response.statusCode).toBe(200);
    const config = response.json();
    expect(config.issuer).toBe(ISSUER);
    expect(config.token_endpoint).toBe('http://sandbox.test/auth/token');
    expect(config.authorization_endpoint).toBe('http://sandbox.test/auth/authorize');
    expect(config.code_challenge_methods_supported).toEqual(['S256']);
    for (const capability of [
      'launch-ehr',
      'launch-standalone',
      'client-public',
      'client-confidential-asymmetric',
      'context-ehr-patient',
      'context-standalone-patient',
      'permission-v2',
    ]) {
      expect(config.capabilities).toContain(capability);
    }
    const jwks = await app.inject({ method: 'GET', url: '/auth/jwks' });
    expect(jwks.json().keys[0].kty).toBe('EC');
  });

  it('grants a token with patient context after consent, once per code, and the token opens the FHIR API', async () => {
    const launch = app.smartAuth.createLaunch({ patient: 'p-42', encounter: 'e-7' });
    const { verifier, challenge } = pkce();
    const redirect = await authorize({ launch, code_challenge: challenge });
    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT);
    expect(redirect.searchParams.get('state')).toBe('st-123');
    const code = redirect.searchParams.get('code') as string;
    expect(code).toBeTruthy();

    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: 'review-app',
      code_verifier: verifier,
    };
    const response = await token(form);
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json();
    expect(body).toMatchObject({
      token_type: 'Bearer',
      patient: 'p-42',
      encounter: 'e-7',
      need_patient_banner: true,
    });
    expect(body.scope.split(' ')).toEqual(expect.arrayContaining(['launch', 'patient/Observation.rs']));
    expect(typeof body.id_token).toBe('string');
    expect(typeof body.refresh_token).toBe('string');
    const claims = await app.smartAuth.verifyAccessToken(body.access_token);
    expect(claims).toMatchObject({
      patient: 'p-42',
      client_id: 'review-app',
      aud: ISSUER,
      fhirUser: 'Practitioner/dr-who',
    });

    // Code reuse is refused (RFC 6749 §4.1.2).
    const again = await token(form);
    expect(again.statusCode).toBe(400);
    expect(again.json().error).toBe('invalid_grant');

    const auth = { authorization: `Bearer ${body.access_token}` };
    expect(
      (await app.inject({ method: 'GET', url: '/fhir/Observation?patient=p-42', headers: auth })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ method: 'GET', url: '/fhir/Observation?patient=Patient/p-42', headers: auth }))
        .statusCode,
    ).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/fhir/Patient/p-42', headers: auth })).statusCode).toBe(
      200,
    );
    const otherPatient = await app.inject({
      method: 'GET',
      url: '/fhir/Observation?patient=p-99',
      headers: auth,
    });
    expect(otherPatient.statusCode).toBe(403);
    expect(otherPatient.json().resourceType).toBe('OperationOutcome');
    expect((await app.inject({ method: 'GET', url: '/fhir/Patient/p-99', headers: auth })).statusCode).toBe(
      403,
    );
    expect(
      (await app.inject({ method: 'POST', url: '/fhir/Observation', headers: auth, payload: {} })).statusCode,
    ).toBe(403);
    expect(
      (await app.inject({ method: 'GET', url: '/fhir/Condition?patient=p-42', headers: auth })).statusCode,
    ).toBe(403);
    const anonymous = await app.inject({ method: 'GET', url: '/fhir/Observation?patient=p-42' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/fhir/Observation',
          headers: { authorization: 'Bearer not.a.jwt' },
        })
      ).statusCode,
    ).toBe(401);

    // offline_access: the refresh token yields a new access token with the same context.
    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: body.refresh_token,
      client_id: 'review-app',
    });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json().patient).toBe('p-42');
  });

  it('standalone launch/patient lets the user pick the patient', async () => {
    const { verifier, challenge } = pkce();
    const redirect = await authorize(
      { scope: 'launch/patient patient/Observation.rs', code_challenge: challenge },
      'approve',
      'p-standalone',
    );
    const response = await token({
      grant_type: 'authorization_code',
      code: redirect.searchParams.get('code') as string,
      redirect_uri: REDIRECT,
      client_id: 'review-app',
      code_verifier: verifier,
    });
    expect(response.json().patient).toBe('p-standalone');
  });

  it('refuses plain PKCE, a missing challenge, a wrong aud, and unregistered redirect URIs', async () => {
    const { challenge } = pkce();
    const plain = await app.inject({
      method: 'GET',
      url: authorizeUrl({ code_challenge: challenge, code_challenge_method: 'plain' }),
    });
    expect(plain.statusCode).toBe(302);
    const plainUrl = new URL(plain.headers.location as string);
    expect(plainUrl.searchParams.get('error')).toBe('invalid_request');
    expect(plainUrl.searchParams.get('state')).toBe('st-123');
    expect(plainUrl.searchParams.get('code')).toBeNull();

    const missing = await app.inject({ method: 'GET', url: authorizeUrl({}) });
    expect(new URL(missing.headers.location as string).searchParams.get('error')).toBe('invalid_request');

    const wrongAud = await app.inject({
      method: 'GET',
      url: authorizeUrl({ code_challenge: challenge, aud: 'http://evil.test/fhir' }),
    });
    const wrongAudUrl = new URL(wrongAud.headers.location as string);
    expect(wrongAudUrl.searchParams.get('error')).toBe('invalid_request');
    expect(wrongAudUrl.searchParams.get('error_description')).toMatch(/aud/);

    const badRedirect = await app.inject({
      method: 'GET',
      url: authorizeUrl({ code_challenge: challenge, redirect_uri: 'https://evil.test/cb' }),
    });
    expect(badRedirect.statusCode).toBe(400);
    expect(badRedirect.headers.location).toBeUndefined();

    const unknownLaunch = await app.inject({
      method: 'GET',
      url: authorizeUrl({ code_challenge: challenge, launch: 'nope' }),
    });
    expect(new URL(unknownLaunch.headers.location as string).searchParams.get('error')).toBe(
      'invalid_request',
    );
  });

  it('refuses a wrong or missing code_verifier', async () => {
    const launch = app.smartAuth.createLaunch({ patient: 'p-1' });
    const { challenge } = pkce();
    const redirect = await authorize({ launch, code_challenge: challenge });
    const code = redirect.searchParams.get('code') as string;
    const base = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: 'review-app' };
    const missing = await token(base);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toBe('invalid_request');
    // A code is spent even by a failed redemption, so the wrong-verifier case needs a fresh one.
    const second = pkce();
    const redirect2 = await authorize({ launch, code_challenge: second.challenge });
    const wrong = await token({
      ...base,
      code: redirect2.searchParams.get('code') as string,
      code_verifier: pkce().verifier,
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error).toBe('invalid_grant');
  });

  it('refuses repeated token parameters (RFC 6749 §3.2)', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=authorization_code&code=a&code=b',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringMatching(/code/),
    });
  });

  it('denial redirects with access_denied', async () => {
    const redirect = await authorize(
      { code_challenge: pkce().challenge, launch: app.smartAuth.createLaunch({ patient: 'p-1' }) },
      'deny',
    );
    expect(redirect.searchParams.get('error')).toBe('access_denied');
  });
});
