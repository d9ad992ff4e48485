import type { Observation, Patient } from '@medplum/fhirtypes';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import type { RunningServer } from '../../../src/main.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { thirdPartyFixture } from '../../helpers/fixtures.js';
import { useFusionFixture, pollUntil } from '../../helpers/fusion-fixture.js';

const SECRET = 'backport-fixture-secret';

function fixtureText(name: string): string {
  return readFileSync(thirdPartyFixture('subscriptions-backport', name), 'utf8');
}

/** {@link pollUntil} with this file's bound on a hang. */
function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  return pollUntil(probe, what, { timeoutMs, intervalMs: 200 });
}

/** A Backport IG id-only notification for one Observation, in the shape the IG examples use. */
function idOnly(subscription: string, eventNumber: number, focus: string): string {
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'history',
    entry: [
      {
        fullUrl: 'urn:uuid:6f1b9a44-0b9e-4a57-9d3b-5c7a52a0c001',
        resource: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'subscription', valueReference: { reference: `Subscription/${subscription}` } },
            { name: 'status', valueCode: 'active' },
            { name: 'type', valueCode: 'event-notification' },
            { name: 'events-since-subscription-start', valueString: String(eventNumber) },
            { name: 'notification-event', part: [{ name: 'event-number', valueString: String(eventNumber) }, { name: 'focus', valueReference: { reference: focus } }] },
          ],
        },
      },
    ],
  });
}

describe('Backport IG notifications at POST /intake/{key}', () => {
  let server: RunningServer;
  let pool: pg.Pool;
  let fhirBaseUrl: string;

  const post = (key: string, body: string, headers: Record<string, string> = {}) =>
    server.server.inject({
      method: 'POST',
      url: `/intake/${key}`,
      headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${SECRET}`, ...headers },
      payload: body,
    });

  async function subscription(key: string, ehrSubscription: string | undefined, status = 'active', criteria = 'Encounter'): Promise<void> {
    const sql = upsertSubscriptionSql({ key, ehrSubscription, kind: 'backport-topic', criteria, secret: SECRET, status });
    await pool.query(sql.text, sql.values);
  }

  // The tests register their own subscriptions (upsertSubscriptionSql), not the EHR's.
  const fixture = useFusionFixture({ subscribe: false, config: () => ({ SUBSCRIPTION_CHECK_INTERVAL_MS: '500' }) });
  beforeAll(() => {
    ({ server, pool, fhirBaseUrl } = fixture());
  });

  it('answers the handshake and activates the subscription, learning its EHR id', async () => {
    await subscription('handshake', undefined, 'requested');
    const response = await post('handshake', fixtureText('Bundle-r4-notification-handshake.json'));
    expect(response.statusCode).toBe(200);
    const { rows } = await pool.query("SELECT status, ehr_subscription, events_since_start FROM subscriptions WHERE key = 'handshake'");
    expect(rows[0]).toEqual({ status: 'active', ehr_subscription: 'admission', events_since_start: '0' });
  });

  it('records the heartbeat and its event count', async () => {
    await subscription('heartbeat', 'admission');
    expect((await post('heartbeat', fixtureText('Bundle-r4-notification-heartbeat.json'))).statusCode).toBe(200);
    const { rows } = await pool.query("SELECT last_heartbeat_at, events_since_start FROM subscriptions WHERE key = 'heartbeat'");
    expect(rows[0]?.last_heartbeat_at).toBeInstanceOf(Date);
    expect(rows[0]?.events_since_start).toBe('2');
  });

  it.each([
    ['empty', 'Bundle-r4-notification-empty.json'],
    ['empty-auth', 'Bundle-r4-notification-empty-with-auth.json'],
    ['id-only', 'Bundle-r4-notification-id-only.json'],
    ['id-only-auth', 'Bundle-r4-notification-id-only-with-auth.json'],
    ['id-only-query', 'Bundle-r4-notification-id-only-with-query.json'],
    ['full', 'Bundle-r4-notification-full-resource.json'],
    ['full-query', 'Bundle-r4-notification-full-resource-with-query.json'],
    ['multi', 'Bundle-r4-notification-multi-resource.json'],
  ])('stores event 2 of %s once, notices the missing event 1 and settles it', async (key, name) => {
    await subscription(key, 'admission');
    const body = fixtureText(name);
    expect((await post(key, body)).statusCode).toBe(200);
    expect((await post(key, body)).statusCode).toBe(200); // redelivery: a no-op
    const { rows } = await pool.query('SELECT event_number, status FROM notification_inbox WHERE subscription = $1 AND event_number = 2', [key]);
    expect(rows).toHaveLength(1);
    // Event 1 never came: the resolve job asks $events (the sandbox does not know `admission`),
    // then covers it by a _lastUpdated search; either way it is settled, not chased forever.
    const settled = await waitFor(async () => {
      const r = await pool.query(
        "SELECT status FROM notification_inbox WHERE subscription = $1 AND event_number = 1 AND NOT EXISTS (SELECT 1 FROM notification_inbox WHERE subscription = $1 AND status = 'received')",
        [key],
      );
      return r.rows[0] as { status: string } | undefined;
    }, 'event 1 and every pending row settled');
    expect(settled.status).toBe('ignored');
    const { rows: sub } = await pool.query('SELECT gaps_detected FROM subscriptions WHERE key = $1', [key]);
    expect(sub[0]?.gaps_detected).toBe('1');
    // Encounter is not a watched type: nothing is assessed (an empty event is settled by the search).
    const { rows: second } = await pool.query('SELECT status FROM notification_inbox WHERE subscription = $1 AND event_number = 2', [key]);
    expect(['ignored', 'processed']).toContain(second[0]?.status);
  });

  it('surfaces an error status: subscription marked error, alert counted in metrics', async () => {
    await subscription('error', 'admission');
    expect((await post('error', fixtureText('Bundle-r4-notification-error.json'))).statusCode).toBe(200);
    const { rows } = await pool.query("SELECT status, last_error FROM subscriptions WHERE key = 'error'");
    expect(rows[0]?.status).toBe('error');
    expect(rows[0]?.last_error).toContain('no-response');
    const metrics = await server.server.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^fhir_fusion_subscription_alerts_total\{kind="error"\} [1-9]/m);
  });

  it('resolves an id-only focus to its patient, and records a focus that does not exist as failed', async () => {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    const patient = await client.createResource<Patient>({ resourceType: 'Patient', gender: 'male', birthDate: '1951-01-01' });
    const obs = await client.createResource<Observation>({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patient.id}` },
      valueQuantity: { value: 90, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    await subscription('obs-topic', 'obs-topic', 'active', 'Observation');
    expect((await post('obs-topic', idOnly('obs-topic', 1, `${fhirBaseUrl}/Observation/${obs.id}`))).statusCode).toBe(200);
    expect((await post('obs-topic', idOnly('obs-topic', 2, `${fhirBaseUrl}/Observation/does-not-exist`))).statusCode).toBe(200);
    const resolved = await waitFor(async () => {
      const r = await pool.query("SELECT patient_id FROM notification_inbox WHERE subscription = 'obs-topic' AND event_number = 1 AND patient_id IS NOT NULL");
      return r.rows[0] as { patient_id: string } | undefined;
    }, 'the id-only focus resolved');
    expect(resolved.patient_id).toBe(patient.id);
    const failed = await waitFor(async () => {
      const r = await pool.query("SELECT status, error FROM notification_inbox WHERE subscription = 'obs-topic' AND event_number = 2 AND status = 'failed'");
      return r.rows[0] as { error: { resourceType: string } } | undefined;
    }, 'the missing focus recorded as failed');
    expect(failed.error.resourceType).toBe('OperationOutcome');
  });

  it('rejects bad input with 4xx OperationOutcomes and stores nothing', async () => {
    await subscription('strict', 'admission');
    const before = (await pool.query('SELECT count(*)::int AS n FROM notification_inbox')).rows[0]?.n as number;
    const cases: Array<[string, Record<string, string>, number, string?]> = [
      ['{"resourceType":"Bundle","type":"history",', {}, 400],
      ['{"resourceType":"Bundle","type":"searchset","entry":[]}', {}, 422, 'Bundle.type'],
      [fixtureText('Bundle-r4-notification-heartbeat.json'), { authorization: 'Bearer wrong' }, 401],
      [fixtureText('Bundle-r4-notification-heartbeat.json'), { 'content-type': 'text/plain' }, 415],
    ];
    for (const [body, headers, status, expression] of cases) {
      const response = await post('strict', body, headers);
      expect(response.statusCode).toBe(status);
      const payload = JSON.parse(response.body) as { resourceType: string; issue: Array<{ expression?: string[] }> };
      expect(payload.resourceType).toBe('OperationOutcome');
      if (expression) expect(payload.issue[0]?.expression).toEqual([expression]);
    }
    const unknown = await post('nobody-here', fixtureText('Bundle-r4-notification-heartbeat.json'));
    expect(unknown.statusCode).toBe(404);
    const after = (await pool.query('SELECT count(*)::int AS n FROM notification_inbox')).rows[0]?.n as number;
    expect(after).toBe(before);
  });
});
