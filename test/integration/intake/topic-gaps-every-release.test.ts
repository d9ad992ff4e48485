import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { backportBundle, signBody } from '../../helpers/backport-bundle.js';
import { pollUntil } from '../../helpers/fusion-fixture.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

const SECRET = 'topic-secret-for-tests-0123456789abcdef';
const RELEASES = ['R4', 'R4B', 'R5'] as const;

/**
 * Missing-event detection is the same for every release: the notification's
 * events-since-subscription-start (R4 Parameters) / eventsSinceSubscriptionStart (R4B, R5
 * SubscriptionStatus) says how many events exist; a number never received is fetched with
 * `$events`, whose answer comes back in the same release's encoding.
 */
describe('missing events are detected and recovered with $events in R4, R4B and R5 encodings', () => {
  let db: TestDatabase;
  let server: RunningServer;
  let ehr: Server;
  const eventsCalls: string[] = [];

  beforeAll(async () => {
    // A fake EHR whose `$events` answers, in the subscription's release, the one event asked for.
    ehr = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://ehr');
      response.setHeader('content-type', 'application/fhir+json');
      const match = /\/Subscription\/(sub-(R4B|R4|R5))\/\$events$/.exec(url.pathname);
      if (match) {
        const [, id, release] = match;
        eventsCalls.push(id ?? '');
        const n = Number(url.searchParams.get('eventsSinceNumber'));
        response.end(
          JSON.stringify(
            backportBundle({
              subscriptionId: id ?? '',
              release: release as (typeof RELEASES)[number],
              type: 'query-event' as never,
              eventsSinceSubscriptionStart: 3,
              events: [{ eventNumber: n, focus: `Observation/missed-${release}` }],
            }),
          ),
        );
      } else if (/\/Observation\/missed-/.test(url.pathname)) {
        response.end(
          JSON.stringify({
            resourceType: 'Observation',
            id: url.pathname.split('/').pop(),
            status: 'final',
            code: {},
            subject: { reference: 'Patient/p1' },
            meta: { versionId: '1' },
          }),
        );
      } else {
        response.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
      }
    });
    await new Promise<void>((resolve) => ehr.listen(0, '127.0.0.1', resolve));
    db = await createTestDatabase();
    server = await startServer(
      testConfig({
        DATABASE_URL: db.url,
        FHIR_BASE_URL: `http://127.0.0.1:${(ehr.address() as AddressInfo).port}/fhir`,
        SUBSCRIPTION_CHECK_INTERVAL_MS: '3600000',
      }),
    );
    for (const release of RELEASES) {
      await server.runtime.pool.query(
        upsertSubscriptionSql({
          key: `topic-${release.toLowerCase()}`,
          ehrSubscription: `sub-${release}`,
          kind: 'backport-topic',
          criteria: 'Observation',
          secret: SECRET,
          status: 'active',
        }),
      );
    }
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    await new Promise<void>((resolve) => ehr?.close(() => resolve()));
  });

  it.each(RELEASES)(
    '%s: events 1 and 3 delivered, 2 recovered',
    async (release) => {
      const key = `topic-${release.toLowerCase()}`;
      for (const n of [1, 3]) {
        const body = JSON.stringify(
          backportBundle({
            subscriptionId: `sub-${release}`,
            release,
            eventsSinceSubscriptionStart: n,
            events: [{ eventNumber: n, focus: `Observation/o${n}` }],
          }),
        );
        const response = await fetch(`${server.url}/intake/${key}`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', 'x-signature': signBody(SECRET, body) },
          body,
        });
        expect(response.status).toBe(200);
        await response.body?.cancel();
      }
      const rows = await pollUntil(
        async () => {
          const { rows } = await server.runtime.pool.query<{ event_number: string; dialect: string }>(
            'SELECT event_number::text, dialect FROM notification_inbox WHERE subscription = $1 ORDER BY event_number',
            [key],
          );
          return rows.length === 3 ? rows : undefined;
        },
        'event 2 recovered',
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const dialect = release === 'R4' ? 'backport' : `topic-${release.toLowerCase()}`;
      expect(rows).toEqual([
        { event_number: '1', dialect },
        { event_number: '2', dialect: 'recovered' },
        { event_number: '3', dialect },
      ]);
      expect(eventsCalls).toContain(`sub-${release}`);
      const { rows: sub } = await server.runtime.pool.query<{ gaps: number; recovered: number }>(
        'SELECT gaps_detected::int AS gaps, events_recovered::int AS recovered FROM subscriptions WHERE key = $1',
        [key],
      );
      expect(sub[0]).toEqual({ gaps: 1, recovered: 1 });
    },
    90_000,
  );
});
