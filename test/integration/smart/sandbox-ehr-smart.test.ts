import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKeyFrom, type SigningKey } from '../../../src/fhir/jwks.js';
import { createSmartBackendAuth } from '../../../src/fhir/smart-backend-client.js';
import { createSandboxEhr, type SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { smartAuthorizer } from '../../../src/sandbox/smart/require-smart-token.js';
import { smartAuthPlugin } from '../../../src/sandbox/smart/smart-auth-plugin.js';
import { createSmartAuthServer, type SmartAuthServer } from '../../../src/sandbox/smart/smart-auth-server.js';
import { injectFetch } from './inject-fetch.js';

const FHIR_BASE = 'http://sandbox.test/fhir';

describe('sandbox EHR guarded by the SMART authorization server', () => {
  let ehr: SandboxEhr;
  let auth: SmartAuthServer;
  let key: SigningKey;

  beforeAll(async () => {
    key = await signingKeyFrom(
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }) as string,
    );
    auth = await createSmartAuthServer({
      issuer: FHIR_BASE,
      fhirPrefix: '/fhir',
      clients: [
        {
          clientId: 'reader',
          type: 'confidential',
          redirectUris: [],
          jwks: { keys: [key.publicJwk] },
          scopes: ['system/Patient.rs', 'system/Observation.rs'],
        },
      ],
    });
    ehr = await createSandboxEhr({
      authorize: smartAuthorizer({
        verifyAccessToken: (t) => auth.verifyAccessToken(t),
        fhirPrefix: '/fhir',
      }),
    });
    await ehr.app.register(smartAuthPlugin, { ...auth.options, server: auth });
    await ehr.app.ready();
  });
  afterAll(async () => {
    await ehr?.close();
  });

  it('serves metadata and SMART discovery without a token, and FHIR data only with one', async () => {
    expect((await ehr.app.inject({ method: 'GET', url: '/fhir/metadata' })).statusCode).toBe(200);
    expect(
      (await ehr.app.inject({ method: 'GET', url: '/fhir/.well-known/smart-configuration' })).json()
        .token_endpoint,
    ).toBe('http://sandbox.test/auth/token');

    const anonymous = await ehr.app.inject({ method: 'GET', url: '/fhir/Patient' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().resourceType).toBe('OperationOutcome');

    const client = createSmartBackendAuth({
      fhirBaseUrl: FHIR_BASE,
      clientId: 'reader',
      privateKey: key.key,
      kid: key.kid,
      alg: key.alg,
      scopes: ['system/Patient.rs'],
      fetch: injectFetch(ehr.app),
    });
    const headers = { authorization: `Bearer ${await client.getAccessToken()}` };
    const search = await ehr.app.inject({ method: 'GET', url: '/fhir/Patient', headers });
    expect(search.statusCode).toBe(200);
    expect(search.json().resourceType).toBe('Bundle');

    const write = await ehr.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: { ...headers, 'content-type': 'application/fhir+json' },
      payload: { resourceType: 'Patient' },
    });
    expect(write.statusCode).toBe(403);
    const notGranted = await ehr.app.inject({ method: 'GET', url: '/fhir/Condition', headers });
    expect(notGranted.statusCode).toBe(403);
  });
});
