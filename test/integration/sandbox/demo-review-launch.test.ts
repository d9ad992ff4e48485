import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoSandbox, type DemoSandbox } from '../../../src/sandbox/demo-sandbox.js';
import { freePorts } from '../../helpers/free-port.js';

/**
 * Issue 20: `npm run demo` opens the review app on a patient with a localised finding the way a
 * chart would (SMART App Launch, EHR launch). The demo sandbox registers the app with its SMART
 * server, creates the clinician it signs in as, and hands out launch URLs; the FHIR API stays open.
 */
describe('demo sandbox: the review app is registered for EHR launch', () => {
  let sandbox: DemoSandbox;
  const app = {
    clientId: 'fhir-fusion-review',
    launchUrl: 'http://127.0.0.1:1/review/launch',
    redirectUri: 'http://127.0.0.1:1/review/callback',
  };

  beforeAll(async () => {
    const [port = 0] = await freePorts(1);
    sandbox = await startDemoSandbox({ port, patients: 1, seed: 5, reviewApp: app });
  }, 120_000);
  afterAll(async () => {
    await sandbox?.close();
  });

  it('serves SMART discovery, the demo clinician, and a launch that authorizes the app for that patient', async () => {
    const discovery = (await (
      await fetch(`${sandbox.fhirBaseUrl}/.well-known/smart-configuration`)
    ).json()) as {
      authorization_endpoint: string;
    };
    expect(discovery.authorization_endpoint).toMatch(/\/auth\/authorize$/);
    expect((await fetch(`${sandbox.fhirBaseUrl}/Practitioner/demo-clinician`)).status).toBe(200);

    const patientId = sandbox.patientIds[0]!;
    const launchUrl = new URL(sandbox.reviewAppLaunchUrl!(patientId));
    expect(`${launchUrl.origin}${launchUrl.pathname}`).toBe(app.launchUrl);
    expect(launchUrl.searchParams.get('iss')).toBe(sandbox.fhirBaseUrl);
    const verifier = randomBytes(32).toString('base64url');
    const authorize = await fetch(
      `${discovery.authorization_endpoint}?${new URLSearchParams({
        response_type: 'code',
        client_id: app.clientId,
        redirect_uri: app.redirectUri,
        scope: 'launch openid fhirUser patient/Patient.r patient/Observation.rs',
        state: 'st-1',
        aud: sandbox.fhirBaseUrl,
        launch: launchUrl.searchParams.get('launch')!,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString()}`,
      { redirect: 'manual' },
    );
    // Approved at once (no one to ask in a demo), back to the app with a code.
    expect(authorize.status).toBe(302);
    const back = new URL(authorize.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(app.redirectUri);
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(back.searchParams.get('state')).toBe('st-1');
  });

  it('has no SMART server and no launch URLs without the review app', async () => {
    const [port = 0] = await freePorts(1);
    const plain = await startDemoSandbox({ port, patients: 1, seed: 5 });
    try {
      expect(plain.reviewAppLaunchUrl).toBeUndefined();
      expect((await fetch(`${plain.fhirBaseUrl}/.well-known/smart-configuration`)).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
