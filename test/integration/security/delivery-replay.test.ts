import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { backportBundle, signBody } from '../../helpers/backport-bundle.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

const SECRET = 'replay-secret-for-tests-0123456789';

/**
 * Issue 18.5: a Medplum-style X-Signature covers only the body, so a captured delivery verifies
 * forever. Within INTAKE_REPLAY_WINDOW_S the same bytes change nothing; a stated delivery time
 * outside the window is refused.
 */
describe('replayed deliveries', () => {
  let db: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServer(testConfig({ DATABASE_URL: db.url, FHIR_BASE_URL: 'http://127.0.0.1:9/fhir', INTAKE_REPLAY_WINDOW_S: '3600' }), { role: 'intake' });
    await server.runtime.pool.query(
      upsertSubscriptionSql({ key: 'topic', ehrSubscription: 'sub-1', kind: 'backport-topic', criteria: 'Observation', secret: SECRET, status: 'active' }),
    );
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  const post = async (body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${server.url}/intake/topic`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', 'x-signature': signBody(SECRET, body), ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as { resourceType: string; issue: Array<{ diagnostics?: string; expression?: string[] }> } };
  };
  const row = async () =>
    (await server.runtime.pool.query<{ status: string; last_heartbeat_at: Date | null }>("SELECT status, last_heartbeat_at FROM subscriptions WHERE key = 'topic'")).rows[0]!;

  it('a replayed heartbeat does not keep a silent subscription looking alive', async () => {
    const heartbeat = JSON.stringify(backportBundle({ subscriptionId: 'sub-1', type: 'heartbeat', eventsSinceSubscriptionStart: 0 }));
    expect((await post(heartbeat)).status).toBe(200);
    expect((await row()).last_heartbeat_at).not.toBeNull();
    // Time passes; the EHR stops sending. An attacker re-sends the captured heartbeat.
    await server.runtime.pool.query("UPDATE subscriptions SET last_heartbeat_at = '2000-01-01T00:00:00Z' WHERE key = 'topic'");
    const replayed = await post(heartbeat);
    expect(replayed.status).toBe(200);
    expect(replayed.body.issue[0]?.diagnostics).toMatch(/replay window/);
    expect((await row()).last_heartbeat_at?.toISOString()).toBe('2000-01-01T00:00:00.000Z');
  });

  it('a replayed handshake does not re-activate a subscription the EHR reported in error', async () => {
    const handshake = JSON.stringify(backportBundle({ subscriptionId: 'sub-1', type: 'handshake', status: 'requested', eventsSinceSubscriptionStart: 0 }));
    expect((await post(handshake)).status).toBe(200);
    await server.runtime.pool.query("UPDATE subscriptions SET status = 'error' WHERE key = 'topic'");
    expect((await post(handshake)).status).toBe(200);
    expect((await row()).status).toBe('error');
  });

  it('the same bytes after the window count again (an EHR may legitimately resend much later)', async () => {
    const heartbeat = JSON.stringify(backportBundle({ subscriptionId: 'sub-1', type: 'heartbeat', status: 'active', eventsSinceSubscriptionStart: 0 }));
    expect((await post(heartbeat)).status).toBe(200);
    await server.runtime.pool.query("UPDATE intake_delivery_seen SET seen_at = now() - interval '2 hours'");
    await server.runtime.pool.query("UPDATE subscriptions SET last_heartbeat_at = '2000-01-01T00:00:00Z', status = 'active' WHERE key = 'topic'");
    expect((await post(heartbeat)).status).toBe(200);
    expect((await row()).last_heartbeat_at?.getUTCFullYear()).toBeGreaterThan(2000);
  });

  it.each([
    ['two hours old', () => String(Math.floor(Date.now() / 1000) - 7200), 401],
    ['an hour in the future', () => String(Math.floor(Date.now() / 1000) + 3600), 401],
    ['unreadable', () => 'yesterday-ish', 401],
    ['current', () => String(Math.floor(Date.now() / 1000)), 200],
  ])('a webhook-timestamp header that is %s: answered as expected', async (_name, stamp, status) => {
    // A distinct body each time (Bundle.id), so only the header decides.
    const fresh = JSON.stringify({ ...backportBundle({ subscriptionId: 'sub-1', type: 'heartbeat', eventsSinceSubscriptionStart: 0 }), id: randomUUID() });
    const answer = await post(fresh, { 'webhook-timestamp': stamp() });
    expect(answer.status).toBe(status);
    expect(answer.body.resourceType).toBe('OperationOutcome');
    if (status === 401) expect(answer.body.issue[0]?.expression).toEqual(['webhook-timestamp']);
  });
});
