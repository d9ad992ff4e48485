import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigningKeys, SigningKeyError, type SigningKeySet } from '../../../src/fhir/jwks.js';
import { createSmartBackendAuth, SmartBackendAuthError } from '../../../src/fhir/smart-backend-client.js';
import { smartAuthPlugin } from '../../../src/sandbox/smart/smart-auth-plugin.js';
import { injectFetch } from '../../integration/smart/inject-fetch.js';

const FHIR_BASE = 'http://sandbox.test/fhir';

describe('SMART Backend Services client against the sandbox authorization server', () => {
  let app: FastifyInstance;
  let dir: string;
  let keys: SigningKeySet;
  let tokenRequests = 0;
  let fetchThroughApp: typeof fetch;
  // One clock for client and server, so renewal near expiry can be exercised without waiting.
  let clock = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smart-client-'));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' });
    await writeFile(join(dir, 'old.pem'), rsa);
    await writeFile(join(dir, 'new.json'), JSON.stringify({ ...ec, kid: 'ec-2026' }));
    keys = await loadSigningKeys([join(dir, 'old.pem'), join(dir, 'new.json')]);
    app = Fastify();
    await app.register(smartAuthPlugin, {
      issuer: FHIR_BASE,
      fhirPrefix: '/fhir',
      now: () => clock,
      clients: [
        {
          clientId: 'fhir-fusion',
          type: 'confidential',
          redirectUris: [],
          jwks: keys.publicJwks(),
          scopes: ['system/*.rs', 'system/RiskAssessment.c'],
        },
      ],
    });
    await app.ready();
    const inner = injectFetch(app);
    fetchThroughApp = (async (input: string | URL | Request, init?: RequestInit) => {
      if (String(input).endsWith('/auth/token')) tokenRequests++;
      return inner(input, init);
    }) as typeof fetch;
  });
  afterAll(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes both keys during rotation and signs with the newest', () => {
    expect(keys.publicJwks().keys.map((k) => k.kty)).toEqual(['RSA', 'EC']);
    expect(keys.publicJwks().keys.every((k) => k.d === undefined)).toBe(true);
    expect(keys.current).toMatchObject({ kid: 'ec-2026', alg: 'ES384' });
    expect(keys.all[0]?.alg).toBe('RS384');
    expect(keys.all[0]?.kid).toMatch(/^[A-Za-z0-9_-]{43}$/); // RFC 7638 thumbprint
  });

  it('caches the token, renews it before expiry and after invalidate()', async () => {
    tokenRequests = 0;
    const auth = createSmartBackendAuth({
      fhirBaseUrl: FHIR_BASE,
      clientId: 'fhir-fusion',
      privateKey: keys.current.key,
      kid: keys.current.kid,
      alg: keys.current.alg,
      scopes: ['system/Observation.rs', 'system/RiskAssessment.c'],
      fetch: fetchThroughApp,
      now: () => clock,
    });
    const [first, concurrent] = await Promise.all([auth.getAccessToken(), auth.getAccessToken()]);
    expect(concurrent).toBe(first);
    expect(tokenRequests).toBe(1);
    const claims = await app.smartAuth.verifyAccessToken(first);
    expect(claims.scope).toBe('system/Observation.rs system/RiskAssessment.c');

    expect(await auth.getAccessToken()).toBe(first);
    expect(tokenRequests).toBe(1);

    auth.invalidate();
    const second = await auth.getAccessToken();
    expect(second).not.toBe(first);
    expect(tokenRequests).toBe(2);

    // 3600 s tokens are renewed 60 s early.
    clock += 3600 - 61;
    expect(await auth.getAccessToken()).toBe(second);
    expect(tokenRequests).toBe(2);
    clock += 2;
    const renewed = await auth.getAccessToken();
    expect(renewed).not.toBe(second);
    expect(tokenRequests).toBe(3);
    expect((await app.smartAuth.verifyAccessToken(renewed)).exp).toBe(clock + 3600);
  });

  it('signs with the older RSA key too (RS384), and reports refusals with the OAuth error', async () => {
    const old = keys.all[0];
    if (!old) throw new Error('no key');
    const auth = createSmartBackendAuth({
      fhirBaseUrl: FHIR_BASE,
      clientId: 'fhir-fusion',
      privateKey: old.key,
      kid: old.kid,
      alg: old.alg,
      scopes: ['system/Observation.rs'],
      fetch: fetchThroughApp,
      now: () => clock,
    });
    expect(typeof (await auth.getAccessToken())).toBe('string');

    const wrongScope = createSmartBackendAuth({
      fhirBaseUrl: FHIR_BASE,
      clientId: 'fhir-fusion',
      privateKey: old.key,
      kid: old.kid,
      alg: old.alg,
      scopes: ['system/Patient.c'],
      fetch: fetchThroughApp,
      now: () => clock,
    });
    const error = await wrongScope.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmartBackendAuthError);
    expect(error).toMatchObject({ status: 400, oauthError: 'invalid_scope' });
  });

  it('names the file when a key cannot be used', async () => {
    const weak = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    await writeFile(join(dir, 'p256.pem'), weak);
    await writeFile(join(dir, 'garbage.pem'), 'not a key');
    await expect(loadSigningKeys([join(dir, 'p256.pem')])).rejects.toThrow(/P-384/);
    await expect(loadSigningKeys([join(dir, 'garbage.pem')])).rejects.toBeInstanceOf(SigningKeyError);
    await expect(loadSigningKeys([join(dir, 'missing.pem')])).rejects.toThrow(/missing\.pem: cannot read/);
  });
});
