import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import { updateSubscriptionStatusSql, upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { backportBundle, signBody } from '../../helpers/backport-bundle.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import { pollUntil } from '../../helpers/fusion-fixture.js';

const SECRET = 'backport-secret-for-tests-0123456789';
/** The hostile event number; the issue measured 23.6 s per notification at 10^8 before the fix. */
const HUGE = Number(process.env.EVENT_NUMBER_UNDER_TEST ?? 1e14);
const WINDOW = 100;

/** {@link pollUntil} with this file's bound on a hang. */
function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  return pollUntil(probe, what, { timeoutMs, intervalMs: 200 });
}

/**
 * Issue 18.2: one Backport notification with a huge event number must not make every later
 * notification materialise placeholder rows and call `$events`. Counts, not times, are asserted.
 */
describe('Backport event numbers: a jump beyond SUBSCRIPTION_EVENT_GAP_WINDOW is one search, not a range', () => {
  let db: TestDatabase;
  let server: RunningServer;
  let ehr: Server;
  const calls = { events: 0, searches: 0, other: 0 };

  beforeAll(async () => {
    // A fake EHR: `$events` returns nothing, searches find nothing; every call is counted.
    ehr = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://ehr');
      response.setHeader('content-type', 'application/fhir+json');
      if (url.pathname.endsWith('/$events')) {
        calls.events++;
        response.end(JSON.stringify(backportBundle({ subscriptionId: 'sub-1', type: 'query-event' as never })));
      } else if (/\/(Observation|DiagnosticReport|ImagingStudy)$/.test(url.pathname)) {
        calls.searches++;
        response.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
      } else {
        calls.other++;
        response.statusCode = 404;
        response.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }));
      }
    });
    await new Promise<void>((resolve) => ehr.listen(0, '127.0.0.1', resolve));
    db = await createTestDatabase();
    server = await startServer(
      testConfig({
        DATABASE_URL: db.url,
        FHIR_BASE_URL: `http://127.0.0.1:${(ehr.address() as AddressInfo).port}/fhir`,
        SUBSCRIPTION_EVENT_GAP_WINDOW: String(WINDOW),
        SUBSCRIPTION_CHECK_INTERVAL_MS: '3600000',
      }),
    );
    await server.runtime.pool.query(
      upsertSubscriptionSql({ key: 'topic', ehrSubscription: 'sub-1', kind: 'backport-topic', criteria: 'Observation', secret: SECRET, status: 'active' }),
    );
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    await new Promise<void>((resolve) => ehr?.close(() => resolve()));
  });

  const deliver = async (eventNumber: number): Promise<number> => {
    const body = JSON.stringify(backportBundle({ subscriptionId: 'sub-1', eventsSinceSubscriptionStart: eventNumber, events: [{ eventNumber }] }));
    const response = await fetch(`${server.url}/intake/topic`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json', 'x-signature': signBody(SECRET, body) },
      body,
    });
    await response.body?.cancel();
    return response.status;
  };
  const inboxRows = async (): Promise<number> =>
    Number((await server.runtime.pool.query<{ n: string }>("SELECT count(*) AS n FROM notification_inbox WHERE subscription = 'topic'")).rows[0]?.n);
  const settled = (what: string) =>
    waitFor(async () => {
      const { rows } = await server.runtime.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM notification_inbox WHERE subscription = 'topic' AND status = 'received'",
      );
      const jobs = await server.runtime.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM pgboss.job WHERE name LIKE '%resolve%' AND state IN ('created', 'retry', 'active')",
      );
      return Number(rows[0]?.n) === 0 && Number(jobs.rows[0]?.n) === 0 ? true : undefined;
    }, what);

  it(`a notification with event number ${HUGE} then normal ones: bounded inbox rows and $events calls`, async () => {
    expect(await deliver(1)).toBe(200);
    await settled('event 1 resolved');
    expect(await deliver(HUGE)).toBe(200);
    await settled('the huge event resolved');
    const afterHuge = { rows: await inboxRows(), events: calls.events };
    expect(await deliver(2)).toBe(200);
    expect(await deliver(3)).toBe(200);
    await settled('the normal events resolved');
    // One row per delivered event; the jump was reconciled by a search, never materialised.
    expect(afterHuge.rows).toBe(2);
    expect(await inboxRows()).toBe(4);
    expect(calls.events).toBe(0);
    expect(calls.searches).toBeGreaterThan(0);
    const { rows } = await server.runtime.pool.query<{ reconciled_through: string }>("SELECT reconciled_through FROM subscriptions WHERE key = 'topic'");
    expect(Number(rows[0]?.reconciled_through)).toBe(HUGE);
  });

  it('a $status answer below the stored counter resets it; a later small gap is fetched with $events again', async () => {
    const pool = server.runtime.pool;
    const { rows } = await pool.query<{ events_since_start: string; previous_events_since_start: string }>(
      updateSubscriptionStatusSql('topic', { status: 'active', statusCheck: true, eventsSinceStart: 3 }),
    );
    expect(Number(rows[0]?.previous_events_since_start)).toBe(HUGE);
    expect(Number(rows[0]?.events_since_start)).toBe(3);
    // A notification (not $status) can never lower it.
    await pool.query(updateSubscriptionStatusSql('topic', { status: 'active', eventsSinceStart: 1 }));
    expect(Number((await pool.query<{ n: string }>("SELECT events_since_start AS n FROM subscriptions WHERE key = 'topic'")).rows[0]?.n)).toBe(3);
    const before = calls.events;
    expect(await deliver(6)).toBe(200); // 4 and 5 missed: inside the window, so looked for one by one
    await settled('the small gap resolved');
    expect(calls.events).toBe(before + 1);
    expect(await inboxRows()).toBe(4 + 3);
  });
});
