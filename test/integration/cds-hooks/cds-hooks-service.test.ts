import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import type { CdsCard, CdsResponse } from '../../../src/review/cds-hooks/cds-hooks-types.js';
import { AIAST } from '../../../src/contracts/fusion-terminology.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import { startCdsEnvironment, type CdsEnvironment } from './cds-environment.js';

const SERVICE = 'fhir-fusion-patient-view';

/**
 * The patient-view request example of CDS Hooks 2.0 §HTTP Request (hookInstance, fhirServer,
 * fhirAuthorization, context, prefetch), with the patient id of our test patient where noted.
 */
function specExampleRequest(patientId: string): Record<string, unknown> {
  return {
    hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
    fhirServer: 'http://hooks.smarthealthit.org:9080',
    hook: 'patient-view',
    fhirAuthorization: {
      access_token: 'some-opaque-fhir-access-token',
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'user/Patient.read user/Observation.read',
      subject: 'cds-service4',
    },
    context: { userId: 'Practitioner/example', patientId },
    prefetch: {
      patient: { resourceType: 'Patient', gender: 'male', birthDate: '1925-12-23', id: patientId, active: true },
    },
  };
}

/** Checks one card against CDS Hooks 2.0 §Card attributes, §Source and §Link. */
function expectSpecCard(card: CdsCard): void {
  expect(typeof card.summary).toBe('string');
  expect([...card.summary].length).toBeLessThan(140);
  expect(['info', 'warning', 'critical']).toContain(card.indicator);
  expect(card.source.label.length).toBeGreaterThan(0);
  expect(card.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  for (const link of card.links ?? []) {
    expect(['absolute', 'smart']).toContain(link.type);
    expect(link.label.length).toBeGreaterThan(0);
    expect(() => new URL(link.url)).not.toThrow();
  }
}

describe('CDS Hooks 2.0 service', () => {
  let db: TestDatabase;
  let env: CdsEnvironment;
  let serviceUrl: string;

  async function call(body: unknown, token?: string, path = `/cds-services/${SERVICE}`): Promise<Response> {
    return fetch(`${env.publicUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  }

  async function assessmentsBundle(patientId: string): Promise<Bundle> {
    const response = await fetch(
      `${env.fhirBaseUrl}/RiskAssessment?patient=${patientId}&_security=${encodeURIComponent(`${AIAST.system}|${AIAST.code}`)}&_sort=-date&_count=20`,
      { headers: { accept: 'application/fhir+json' } },
    );
    return (await response.json()) as Bundle;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    env = await startCdsEnvironment({ databaseUrl: db.url });
    serviceUrl = `${env.publicUrl}/cds-services/${SERVICE}`;
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
    await db?.drop();
  });

  it('answers discovery with hook, id, title, description, prefetch templates and usageRequirements', async () => {
    const response = await fetch(`${env.publicUrl}/cds-services`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { services: Array<Record<string, unknown>> };
    const hooks = body.services.map((s) => s.hook);
    expect(hooks).toEqual(['patient-view', 'encounter-start']);
    for (const service of body.services) {
      expect(service.id).toMatch(/^[A-Za-z0-9-]+$/);
      expect(typeof service.description).toBe('string');
      expect(typeof service.usageRequirements).toBe('string');
      const prefetch = service.prefetch as Record<string, string>;
      expect(prefetch.patient).toBe('Patient/{{context.patientId}}');
      expect(prefetch.assessments).toMatch(/^RiskAssessment\?patient=\{\{context\.patientId\}\}&/);
    }
  });

  it("the spec's example with complete prefetch gives a risk card that follows the card rules", async () => {
    const patientId = env.patient.id ?? '';
    const request = specExampleRequest(patientId);
    (request.prefetch as Record<string, unknown>).assessments = await assessmentsBundle(patientId);
    const response = await call(request, await env.client.sign(serviceUrl));
    expect(response.status).toBe(200);
    const { cards } = (await response.json()) as CdsResponse;
    expect(cards).toHaveLength(1);
    const card = cards[0] as CdsCard;
    expectSpecCard(card);
    const prediction = env.assessment.prediction?.[0];
    expect(prediction).toBeDefined();
    expect(card.summary).toMatch(/risk of /);
    expect(card.source.label).toContain('Late fusion');
    expect(card.source.url).toBe(`${env.publicUrl}/cds-services/model-cards/late-fusion/1`);
    expect(card.detail).toContain('**Top contributing modalities**');
    expect(card.detail).toContain('Labs and vital signs');
    expect(card.links?.[0]).toMatchObject({ type: 'smart', url: `${env.publicUrl}/review/launch` });
    const modelCard = await fetch(card.source.url ?? '');
    expect(modelCard.status).toBe(200);
    expect(modelCard.headers.get('content-type')).toContain('text/markdown');
  });

  it("the spec's example without the assessments prefetch and an unknown fhirServer is 412", async () => {
    const response = await call(specExampleRequest(env.patient.id ?? ''), await env.client.sign(serviceUrl));
    expect(response.status).toBe(412);
    const body = (await response.json()) as OperationOutcome;
    expect(body.issue?.[0]?.expression).toEqual(['fhirServer']);
  });

  it('without prefetch, searches fhirServer with the fhirAuthorization token', async () => {
    const request = specExampleRequest(env.patient.id ?? '');
    delete request.prefetch;
    request.fhirServer = env.fhirBaseUrl;
    const response = await call(request, await env.client.sign(serviceUrl));
    expect(response.status).toBe(200);
    const { cards } = (await response.json()) as CdsResponse;
    expect(cards).toHaveLength(1);
    expectSpecCard(cards[0] as CdsCard);
  });

  it('without prefetch or fhirServer is 412 naming prefetch.assessments', async () => {
    const request = specExampleRequest(env.patient.id ?? '');
    delete request.fhirServer;
    delete request.fhirAuthorization;
    const response = await call(request, await env.client.sign(serviceUrl));
    expect(response.status).toBe(412);
    expect(((await response.json()) as OperationOutcome).issue?.[0]?.expression).toEqual(['prefetch.assessments']);
  });

  it('answers no cards for a patient without an assessment', async () => {
    const fhir = createEhrClient({ fhirBaseUrl: env.fhirBaseUrl, fetch });
    const other = await fhir.createResource<Patient>({ resourceType: 'Patient', gender: 'male', birthDate: '1970-01-01' });
    const request = specExampleRequest(other.id ?? '');
    (request.prefetch as Record<string, unknown>).assessments = await assessmentsBundle(other.id ?? '');
    const response = await call(request, await env.client.sign(serviceUrl));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ cards: [] });
  });

  it('refuses a malformed request with 400 naming the element', async () => {
    const request = specExampleRequest(env.patient.id ?? '');
    request.hookInstance = 'not-a-uuid';
    const response = await call(request, await env.client.sign(serviceUrl));
    expect(response.status).toBe(400);
    expect(((await response.json()) as OperationOutcome).issue?.[0]?.expression).toEqual(['hookInstance']);
  });

  describe('client authentication (CDS Hooks 2.0 §Trusting CDS Clients)', () => {
    it('refuses an unsigned call with 401', async () => {
      const response = await call(specExampleRequest(env.patient.id ?? ''));
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('Bearer');
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const payload = Buffer.from(
        JSON.stringify({ iss: env.client.iss, aud: serviceUrl, iat: now, exp: now + 300, jti: 'unsigned-1' }),
      ).toString('base64url');
      const alg = await call(specExampleRequest(env.patient.id ?? ''), `${header}.${payload}.`);
      expect(alg.status).toBe(401);
    });

    it('refuses a wrong aud with 401', async () => {
      const token = await env.client.sign(`${env.publicUrl}/cds-services/some-other-service`);
      const response = await call(specExampleRequest(env.patient.id ?? ''), token);
      expect(response.status).toBe(401);
      expect(((await response.json()) as OperationOutcome).issue?.[0]?.expression).toEqual(['aud']);
    });

    it('refuses a replayed jti with 401', async () => {
      const request = specExampleRequest(env.patient.id ?? '');
      (request.prefetch as Record<string, unknown>).assessments = await assessmentsBundle(env.patient.id ?? '');
      const token = await env.client.sign(serviceUrl, { alg: 'RS384' });
      expect((await call(request, token)).status).toBe(200);
      const replay = await call(request, token);
      expect(replay.status).toBe(401);
      expect(((await replay.json()) as OperationOutcome).issue?.[0]?.expression).toEqual(['jti']);
    });

    it('refuses an issuer not on the allow-list, a foreign jku and an expired token with 401', async () => {
      const request = specExampleRequest(env.patient.id ?? '');
      const foreign = await env.client.sign(serviceUrl, { claims: { iss: 'https://attacker.example' } });
      expect((await call(request, foreign)).status).toBe(401);
      const jku = await env.client.sign(serviceUrl, { jku: 'https://attacker.example/jwks.json' });
      expect((await call(request, jku)).status).toBe(401);
      const past = Math.floor(Date.now() / 1000) - 3600;
      const expired = await env.client.sign(serviceUrl, { claims: { iat: past, exp: past + 300 } });
      expect((await call(request, expired)).status).toBe(401);
    });
  });

  it('stores feedback (accepted, overridden with reason) and counts it in metrics', async () => {
    const request = specExampleRequest(env.patient.id ?? '');
    (request.prefetch as Record<string, unknown>).assessments = await assessmentsBundle(env.patient.id ?? '');
    const { cards } = (await (await call(request, await env.client.sign(serviceUrl))).json()) as CdsResponse;
    const card = cards[0] as CdsCard;
    const reason = card.overrideReasons?.[0];
    const feedback = {
      feedback: [
        { card: card.uuid, outcome: 'accepted', outcomeTimestamp: new Date().toISOString() },
        { card: card.uuid, outcome: 'overridden', overrideReason: { reason, userComment: 'Seen this morning' }, outcomeTimestamp: new Date().toISOString() },
      ],
    };
    const path = `/cds-services/${SERVICE}/feedback`;
    const unsigned = await call(feedback, undefined, path);
    expect(unsigned.status).toBe(401);
    const response = await call(feedback, await env.client.sign(`${serviceUrl}/feedback`), path);
    expect(response.status).toBe(200);
    const { rows } = await env.server.runtime.pool.query<{ outcome: string; override_code: string | null; user_comment: string | null }>(
      'SELECT outcome, override_code, user_comment FROM cds_feedback WHERE card_uuid = $1 ORDER BY id',
      [card.uuid],
    );
    expect(rows).toEqual([
      { outcome: 'accepted', override_code: null, user_comment: null },
      { outcome: 'overridden', override_code: reason?.code, user_comment: 'Seen this morning' },
    ]);
    const metrics = await (await fetch(`${env.publicUrl}/metrics`)).text();
    expect(metrics).toMatch(/^fhir_fusion_cds_feedback_total\{outcome="overridden"\} 1$/m);
    expect(metrics).toMatch(/^fhir_fusion_cds_feedback_total\{outcome="accepted"\} 1$/m);

    const unknown = await call(
      { feedback: [{ card: '00000000-0000-4000-8000-000000000000', outcome: 'accepted', outcomeTimestamp: new Date().toISOString() }] },
      await env.client.sign(`${serviceUrl}/feedback`),
      path,
    );
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as OperationOutcome).issue?.[0]?.expression).toEqual(['feedback[0].card']);
  });

  it('answers CORS preflight for browser-based CDS clients', async () => {
    const response = await fetch(serviceUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://ehr.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });
});
