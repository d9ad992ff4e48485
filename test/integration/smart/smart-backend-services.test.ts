import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s256Challenge } from '../../../src/sandbox/smart/pkce.js';
import { smartAuthPlugin } from '../../../src/sandbox/smart/smart-auth-plugin.js';

const ISSUER = 'http://sandbox.test/fhir';
const TOKEN_ENDPOINT = 'http://sandbox.test/auth/token';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface TestKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
  alg: 'RS384' | 'ES384';
}

async function makeKey(alg: 'RS384' | 'ES384'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return { privateKey, kid, alg, publicJwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

describe('SMART Backend Services (client_credentials + private_key_jwt)', () => {
  let app: FastifyInstance;
  let rsKey: TestKey;
  let esKey: TestKey;

  beforeAll(async () => {
    rsKey = await makeKey('RS384');
    esKey = await makeKey('ES384');
    app = Fastify();
    await app.register(smartAuthPlugin, {
      issuer: ISSUER,
      fhirPrefix: '/fhir',
      autoApprove: true,
      clients: [
        {
          clientId: 'fusion-rs',
          type: 'confidential',
          redirectUris: [],
          jwks: { keys: [rsKey.publicJwk] },
          scopes: ['system/*.rs', 'system/RiskAssessment.c'],
        },
        {
          clientId: 'confidential-app',
          type: 'confidential',
          redirectUris: ['https://app.test/cb'],
          jwks: { keys: [esKey.publicJwk] },
          scopes: ['launch', 'patient/*.rs'],
        },
        {
          clientId: 'fusion-es',
          type: 'confidential',
          redirectUris: [],
          jwks: { keys: [esKey.publicJwk] },
          scopes: ['system/Observation.rs'],
        },
      ],
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  const assertion = (
    key: TestKey,
    clientId: string,
    overrides: { aud?: string; exp?: number; jti?: string; kid?: string; sub?: string } = {},
  ) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: overrides.kid ?? key.kid, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(overrides.sub ?? clientId)
      .setAudience(overrides.aud ?? TOKEN_ENDPOINT)
      .setExpirationTime(overrides.exp ?? now + 240)
      .setJti(overrides.jti ?? randomUUID())
      .sign(key.privateKey);
  };

  const requestToken = async (clientAssertion: string, scope = 'system/Observation.rs') =>
    app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        scope,
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: clientAssertion,
      }).toString(),
    });

  it.each([
    ['RS384', 'fusion-rs'],
    ['ES384', 'fusion-es'],
  ] as const)('issues a system token for a %s assertion', async (alg, clientId) => {
    const key = alg === 'RS384' ? rsKey : esKey;
    const response = await requestToken(await assertion(key, clientId));
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'system/Observation.rs', expires_in: 3600 });
    const claims = await app.smartAuth.verifyAccessToken(body.access_token);
    expect(claims).toMatchObject({ client_id: clientId, scope: 'system/Observation.rs', aud: ISSUER });
    expect(claims.patient).toBeUndefined();
  });

  it('grants only the registered subset of scopes, and refuses when none is allowed', async () => {
    const partial = await requestToken(
      await assertion(rsKey, 'fusion-rs'),
      'system/Observation.rs system/Patient.cruds system/RiskAssessment.c',
    );
    expect(partial.json().scope).toBe('system/Observation.rs system/RiskAssessment.c');
    const none = await requestToken(await assertion(esKey, 'fusion-es'), 'system/Patient.rs');
    expect(none.statusCode).toBe(400);
    expect(none.json().error).toBe('invalid_scope');
  });

  const refusal = async (clientAssertion: string) => {
    const response = await requestToken(clientAssertion);
    return {
      status: response.statusCode,
      error: response.json().error as string,
      description: response.json().error_description as string,
    };
  };

  it('refuses a replayed jti', async () => {
    const jti = randomUUID();
    expect((await requestToken(await assertion(esKey, 'fusion-es', { jti }))).statusCode).toBe(200);
    expect(await refusal(await assertion(esKey, 'fusion-es', { jti }))).toMatchObject({
      status: 401,
      error: 'invalid_client',
      description: expect.stringMatching(/jti/),
    });
  });

  it('refuses a wrong aud', async () => {
    expect(
      await refusal(await assertion(esKey, 'fusion-es', { aud: 'http://sandbox.test/auth/token/' })),
    ).toMatchObject({
      status: 401,
      error: 'invalid_client',
      description: expect.stringMatching(/aud/),
    });
  });

  it('refuses an expired assertion', async () => {
    const past = Math.floor(Date.now() / 1000) - 30;
    expect(await refusal(await assertion(rsKey, 'fusion-rs', { exp: past }))).toMatchObject({
      status: 401,
      error: 'invalid_client',
      description: expect.stringMatching(/expired/),
    });
  });

  it('refuses an exp more than five minutes out', async () => {
    const far = Math.floor(Date.now() / 1000) + 301 + 60;
    expect(await refusal(await assertion(rsKey, 'fusion-rs', { exp: far }))).toMatchObject({
      status: 401,
      error: 'invalid_client',
      description: expect.stringMatching(/five minutes/),
    });
  });

  it('refuses an unknown kid and a key the client did not register', async () => {
    expect(await refusal(await assertion(esKey, 'fusion-es', { kid: 'unknown-kid' }))).toMatchObject({
      status: 401,
      error: 'invalid_client',
    });
    const stranger = await makeKey('ES384');
    // Same kid as the registered key, different key material: the signature does not verify.
    expect(await refusal(await assertion({ ...stranger, kid: esKey.kid }, 'fusion-es'))).toMatchObject({
      status: 401,
      error: 'invalid_client',
      description: expect.stringMatching(/signature/),
    });
    // A registered client signing with another client's key.
    expect(await refusal(await assertion(rsKey, 'fusion-es'))).toMatchObject({
      status: 401,
      error: 'invalid_client',
    });
  });

  it('refuses client_credentials for a client registered without system/ scopes', async () => {
    const response = await requestToken(await assertion(esKey, 'confidential-app'));
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toBe('unauthorized_client');
  });

  it('lets a confidential app redeem an authorization code with its assertion (client-confidential-asymmetric)', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const launch = app.smartAuth.createLaunch({ patient: 'p-5' });
    const authorize = await app.inject({
      method: 'GET',
      url: `/auth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: 'confidential-app',
        redirect_uri: 'https://app.test/cb',
        scope: 'launch patient/Observation.rs',
        state: 's',
        aud: ISSUER,
        launch,
        code_challenge: s256Challenge(verifier),
        code_challenge_method: 'S256',
      }).toString()}`,
    });
    expect(authorize.statusCode).toBe(302);
    const code = new URL(authorize.headers.location as string).searchParams.get('code') as string;
    const form = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'https://app.test/cb',
      code_verifier: verifier,
    };
    const post = (extra: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...form, ...extra }).toString(),
      });
    const unauthenticated = await post({ client_id: 'confidential-app' });
    expect(unauthenticated.statusCode).toBe(401);
    expect(unauthenticated.json().error).toBe('invalid_client');
    // The refused attempt did not spend the code: client authentication comes first.
    const ok = await post({
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(esKey, 'confidential-app'),
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().patient).toBe('p-5');
  });

  it('refuses sub ≠ iss, an unknown client, and a missing assertion', async () => {
    expect(await refusal(await assertion(esKey, 'fusion-es', { sub: 'someone-else' }))).toMatchObject({
      status: 401,
      error: 'invalid_client',
    });
    expect(await refusal(await assertion(esKey, 'nobody'))).toMatchObject({
      status: 401,
      error: 'invalid_client',
    });
    const noAssertion = await app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials&scope=system%2FObservation.rs',
    });
    expect(noAssertion.statusCode).toBe(401);
    expect(noAssertion.json().error).toBe('invalid_client');
    const json = await app.inject({
      method: 'POST',
      url: '/auth/token',
      payload: { grant_type: 'client_credentials' },
    });
    expect(json.statusCode).toBe(400);
    expect(json.json().error).toBe('invalid_request');
    const grant = await app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password',
    });
    expect(grant.json().error).toBe('unsupported_grant_type');
  });
});
