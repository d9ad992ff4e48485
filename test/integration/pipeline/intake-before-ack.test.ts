import type { Observation } from '@medplum/fhirtypes';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

const SECRET = 'test-secret-0123456789';

function notification(id: string, versionId: string): Observation {
  return {
    resourceType: 'Observation',
    id,
    meta: { versionId },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: 'Patient/p1' },
    valueQuantity: { value: 90, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

function signed(body: string): Record<string, string> {
  return {
    'content-type': 'application/fhir+json',
    'x-signature': createHmac('sha256', SECRET).update(body).digest('hex'),
  };
}

/**
 * Intake-only server (no workers, as `serve --role intake` runs it), so the inbox can be inspected
 * exactly as the 2xx leaves: the row and its job must already be committed.
 */
describe('intake: stored before acknowledged', () => {
  let db: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServer(testConfig({ DATABASE_URL: db.url, FHIR_BASE_URL: 'http://127.0.0.1:9/fhir' }), { role: 'intake' });
    const sql = upsertSubscriptionSql({ key: 'observation', kind: 'rest-hook-criteria', criteria: 'Observation', secret: SECRET, status: 'active' });
    await server.runtime.pool.query(sql.text, sql.values);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('has the inbox row and its job committed when the 2xx is sent', async () => {
    const body = JSON.stringify(notification('obs-1', '1'));
    const response = await server.server.inject({ method: 'POST', url: '/intake/observation', headers: signed(body), payload: body });
    expect(response.statusCode).toBe(200);
    const { rows } = await server.runtime.pool.query('SELECT status, patient_id FROM notification_inbox WHERE resource_id = $1', ['obs-1']);
    expect(rows).toEqual([{ status: 'queued', patient_id: 'p1' }]);
    const jobs = await server.runtime.pool.query("SELECT data FROM pgboss.job WHERE name = 'assess-patient'");
    expect(jobs.rows.map((r: { data: { patientId: string } }) => r.data.patientId)).toContain('p1');
  });

  it('answers 5xx, never 2xx, when the notification cannot be stored', async () => {
    const pool = server.runtime.pool;
    await pool.query('ALTER TABLE notification_inbox RENAME TO notification_inbox_away');
    try {
      const body = JSON.stringify(notification('obs-2', '1'));
      const response = await server.server.inject({ method: 'POST', url: '/intake/observation', headers: signed(body), payload: body });
      expect(response.statusCode).toBeGreaterThanOrEqual(500);
      expect(response.json().resourceType).toBe('OperationOutcome');
    } finally {
      await pool.query('ALTER TABLE notification_inbox_away RENAME TO notification_inbox');
    }
    const { rows } = await pool.query('SELECT 1 FROM notification_inbox WHERE resource_id = $1', ['obs-2']);
    expect(rows).toHaveLength(0);
  });

  it('stores a redelivery once', async () => {
    const body = JSON.stringify(notification('obs-3', '7'));
    for (let i = 0; i < 3; i++) {
      const response = await server.server.inject({ method: 'POST', url: '/intake/observation', headers: signed(body), payload: body });
      expect(response.statusCode).toBe(200);
    }
    const { rows } = await server.runtime.pool.query('SELECT count(*)::int AS n FROM notification_inbox WHERE resource_id = $1', ['obs-3']);
    expect(rows[0]?.n).toBe(1);
  });

  it.each([
    ['not JSON', '{not json', 400, undefined],
    ['not a FHIR resource', '{"hello":"world"}', 400, 'resourceType'],
    ['an unwatched resource type', '{"resourceType":"Patient","id":"x"}', 422, 'resourceType'],
    ['an Observation without subject', '{"resourceType":"Observation","id":"o9","status":"final","code":{}}', 422, 'Observation.subject.reference'],
  ])('refuses %s with an OperationOutcome and stores nothing', async (_name, body, status, expression) => {
    const pool = server.runtime.pool;
    const before = await pool.query('SELECT count(*)::int AS n FROM notification_inbox');
    const response = await server.server.inject({ method: 'POST', url: '/intake/observation', headers: signed(body), payload: body });
    expect(response.statusCode).toBe(status);
    const outcome = response.json();
    expect(outcome.resourceType).toBe('OperationOutcome');
    if (expression) expect(outcome.issue[0].expression).toEqual([expression]);
    const after = await pool.query('SELECT count(*)::int AS n FROM notification_inbox');
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
  });

  it('refuses a body over the size limit with 413 too-long', async () => {
    const big = JSON.stringify({ ...notification('obs-big', '1'), note: [{ text: 'x'.repeat(2 * 1024 * 1024) }] });
    const response = await server.server.inject({ method: 'POST', url: '/intake/observation', headers: signed(big), payload: big });
    expect(response.statusCode).toBe(413);
    expect(response.json().issue[0].code).toBe('too-long');
  });

  it('refuses unauthenticated (401) and unknown-subscription (404) notifications', async () => {
    const body = JSON.stringify(notification('obs-4', '1'));
    const forged = await server.server.inject({
      method: 'POST',
      url: '/intake/observation',
      headers: { 'content-type': 'application/fhir+json', 'x-signature': 'ab'.repeat(32) },
      payload: body,
    });
    expect(forged.statusCode).toBe(401);
    const unknown = await server.server.inject({ method: 'POST', url: '/intake/nope', headers: signed(body), payload: body });
    expect(unknown.statusCode).toBe(404);
    const { rows } = await server.runtime.pool.query('SELECT 1 FROM notification_inbox WHERE resource_id = $1', ['obs-4']);
    expect(rows).toHaveLength(0);
  });
});
