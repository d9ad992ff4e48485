import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backportIntakeEvents } from '../../../src/intake/backport-events.js';
import { parseNotificationBundle } from '../../../src/intake/backport-notification.js';
import { parseBackportDelivery, statusUpdateOf } from '../../../src/intake/parse-backport-delivery.js';
import type { SubscriptionRow } from '../../../src/store/subscriptions-repository.js';
import { backportBundle } from '../../helpers/backport-bundle.js';
import { thirdPartyFixture } from '../../helpers/fixtures.js';

type Json = Record<string, unknown>;

const r5Example = (): Json =>
  JSON.parse(readFileSync(thirdPartyFixture('subscriptions-r5', 'notification-empty.json'), 'utf8')) as Json;

const row = (overrides: Partial<SubscriptionRow> = {}): SubscriptionRow =>
  ({
    key: 'obs',
    ehr_subscription: 's1',
    kind: 'backport-topic',
    criteria: 'Observation',
    secret: 's',
    status: 'active',
    ...overrides,
  }) as SubscriptionRow;

function parsed(bundle: Json) {
  const result = parseNotificationBundle(bundle);
  if (!result.ok) throw new Error(JSON.stringify(result.outcome));
  return result.value;
}

/** The status entry of a Bundle, to break it on purpose. */
const statusOf = (bundle: Json): Json => ((bundle.entry as Json[])[0] as { resource: Json }).resource;

const expressionOf = (result: ReturnType<typeof parseNotificationBundle>): string | undefined =>
  result.ok ? undefined : result.outcome.issue?.[0]?.expression?.[0];

describe('R5 notification Bundles', () => {
  it('parses the R5 specification example notification-empty (integer64 counts as JSON strings)', () => {
    const n = parsed(r5Example());
    expect(n).toMatchObject({
      release: 'R5',
      type: 'event-notification',
      status: 'active',
      eventsSinceSubscriptionStart: 2,
    });
    expect(n.subscription).toMatchObject({ resourceType: 'Subscription', id: '123' });
    expect(n.events).toEqual([
      {
        eventNumber: 2,
        timestamp: '2020-04-17T10:20:00.0000000-05:00',
        focus: undefined,
        additionalContext: [],
      },
    ]);
    expect(backportIntakeEvents('obs', n)).toEqual([
      { dialect: 'topic-r5', dedupeKey: 'backport:obs:123:2', eventNumber: 2 },
    ]);
    expect(statusUpdateOf(n)).toMatchObject({
      eventsSinceStart: 2,
      lastEventNumber: 2,
      status: 'active',
      ehrSubscription: '123',
    });
  });

  it('id-only: the focus names the resource, resolved later; full-resource: the carried resource names the patient', () => {
    const idOnly = parsed(
      backportBundle({
        subscriptionId: 's1',
        release: 'R5',
        eventsSinceSubscriptionStart: 4,
        events: [{ eventNumber: 4, focus: 'https://ehr/fhir/Observation/o4/_history/2' }],
      }),
    );
    expect(backportIntakeEvents('obs', idOnly)[0]).toMatchObject({
      dialect: 'topic-r5',
      resourceType: 'Observation',
      resourceId: 'o4',
      versionId: '2',
    });
    expect(backportIntakeEvents('obs', idOnly)[0]?.patientId).toBeUndefined();
    const observation = {
      resourceType: 'Observation',
      id: 'o5',
      meta: { versionId: '3' },
      subject: { reference: 'Patient/p9' },
    };
    const full = parsed(
      backportBundle({
        subscriptionId: 's1',
        release: 'R5',
        eventsSinceSubscriptionStart: 5,
        events: [{ eventNumber: 5, focus: 'Observation/o5' }],
        resources: [observation],
      }),
    );
    expect(backportIntakeEvents('obs', full)[0]).toMatchObject({
      patientId: 'p9',
      versionId: '3',
      payload: observation,
    });
  });

  it('handshake while requested activates; heartbeat carries the count', () => {
    const handshake = parsed(
      backportBundle({
        subscriptionId: 's1',
        release: 'R5',
        type: 'handshake',
        status: 'requested',
        eventsSinceSubscriptionStart: 0,
      }),
    );
    expect(statusUpdateOf(handshake)).toMatchObject({
      status: 'active',
      eventsSinceStart: 0,
      heartbeat: false,
    });
    const heartbeat = parsed(
      backportBundle({
        subscriptionId: 's1',
        release: 'R5',
        type: 'heartbeat',
        eventsSinceSubscriptionStart: 9,
      }),
    );
    expect(statusUpdateOf(heartbeat)).toMatchObject({ heartbeat: true, eventsSinceStart: 9 });
  });

  it('accepts integer64 sent as a JSON number (servers do), with the same value', () => {
    const bundle = backportBundle({ subscriptionId: 's1', release: 'R5', events: [{ eventNumber: 7 }] });
    const status = statusOf(bundle);
    status.eventsSinceSubscriptionStart = 7;
    (status.notificationEvent as Json[])[0] = { eventNumber: 7 };
    expect(parsed(bundle)).toMatchObject({ eventsSinceSubscriptionStart: 7, events: [{ eventNumber: 7 }] });
  });
});

describe('R4B notification Bundles (history + SubscriptionStatus, Backport IG §Notifications)', () => {
  it('parses into the same events, labelled R4B', () => {
    const n = parsed(
      backportBundle({
        subscriptionId: 's1',
        release: 'R4B',
        eventsSinceSubscriptionStart: 3,
        events: [{ eventNumber: 3, focus: 'Observation/o3' }],
      }),
    );
    expect(n.release).toBe('R4B');
    expect(backportIntakeEvents('obs', n)).toEqual([
      {
        dialect: 'topic-r4b',
        dedupeKey: 'backport:obs:s1:3',
        eventNumber: 3,
        resourceType: 'Observation',
        resourceId: 'o3',
      },
    ]);
    expect(statusUpdateOf(n).eventsSinceStart).toBe(3);
  });

  it('the same event in R4, R4B and R5 encodings gives the same dedupe key: one inbox row whichever arrives', () => {
    const keys = (['R4', 'R4B', 'R5'] as const).map(
      (release) =>
        backportIntakeEvents(
          'obs',
          parsed(
            backportBundle({
              subscriptionId: 's1',
              release,
              events: [{ eventNumber: 12, focus: 'Observation/o' }],
            }),
          ),
        )[0]?.dedupeKey,
    );
    expect(new Set(keys)).toEqual(new Set(['backport:obs:s1:12']));
  });
});

describe('bad R4B/R5 notifications: 422 OperationOutcome naming the element', () => {
  const r5 = (): Json =>
    backportBundle({
      subscriptionId: 's1',
      release: 'R5',
      eventsSinceSubscriptionStart: 2,
      events: [{ eventNumber: 2, focus: 'Observation/o2' }],
    });

  it('a subscription-notification Bundle that starts with Parameters (bdl-13)', () => {
    const bundle = backportBundle({ subscriptionId: 's1', release: 'R4' });
    bundle.type = 'subscription-notification';
    const result = parseNotificationBundle(bundle);
    expect(!result.ok && result.status).toBe(422);
    expect(expressionOf(result)).toBe('Bundle.entry[0].resource.resourceType');
  });

  it.each([
    [
      'eventsSinceSubscriptionStart',
      (s: Json) => (s.eventsSinceSubscriptionStart = 'two'),
      'Bundle.entry[0].resource.eventsSinceSubscriptionStart',
    ],
    [
      'eventNumber not a number',
      (s: Json) => ((s.notificationEvent as Json[])[0] = { eventNumber: '-1' }),
      'Bundle.entry[0].resource.notificationEvent[0].eventNumber',
    ],
    [
      'eventNumber missing',
      (s: Json) => ((s.notificationEvent as Json[])[0] = { timestamp: '2026-01-01T00:00:00Z' }),
      'Bundle.entry[0].resource.notificationEvent[0].eventNumber',
    ],
    [
      'focus not a Reference',
      (s: Json) => ((s.notificationEvent as Json[])[0] = { eventNumber: '2', focus: 'Observation/o2' }),
      'Bundle.entry[0].resource.notificationEvent[0].focus.reference',
    ],
    [
      'additionalContext not References',
      (s: Json) =>
        ((s.notificationEvent as Json[])[0] = { eventNumber: '2', additionalContext: [{ display: 'x' }] }),
      'Bundle.entry[0].resource.notificationEvent[0].additionalContext[0].reference',
    ],
    [
      'notificationEvent not an array',
      (s: Json) => (s.notificationEvent = { eventNumber: '2' }),
      'Bundle.entry[0].resource.notificationEvent',
    ],
    [
      'subscription missing',
      (s: Json) => delete s.subscription,
      'Bundle.entry[0].resource.subscription.reference',
    ],
    ['type unknown', (s: Json) => (s.type = 'event'), 'Bundle.entry[0].resource.type'],
    ['status missing', (s: Json) => delete s.status, 'Bundle.entry[0].resource.status'],
    ['error not an array', (s: Json) => (s.error = { text: 'x' }), 'Bundle.entry[0].resource.error'],
  ])('%s', (_what, breakIt, expression) => {
    const bundle = r5();
    breakIt(statusOf(bundle));
    const result = parseNotificationBundle(bundle);
    expect(!result.ok && result.status).toBe(422);
    expect(expressionOf(result)).toBe(expression);
  });

  it('a notification for another Subscription: 404 naming SubscriptionStatus.subscription', () => {
    const result = parseBackportDelivery(
      Buffer.from(JSON.stringify(r5())),
      row({ ehr_subscription: 'other' }),
    );
    expect(!result.ok && result.status).toBe(404);
    expect(!result.ok && result.outcome.issue?.[0]?.expression?.[0]).toBe(
      'Bundle.entry[0].resource.subscription.reference',
    );
    const r4 = parseBackportDelivery(
      Buffer.from(JSON.stringify(backportBundle({ subscriptionId: 's1' }))),
      row({ ehr_subscription: 'other' }),
    );
    expect(!r4.ok && r4.outcome.issue?.[0]?.expression?.[0]).toBe(
      'Bundle.entry[0].resource.parameter[0].valueReference.reference',
    );
  });
});

describe('property: near-valid R4B/R5 status resources never throw and fail only with an element path', () => {
  it('on generated SubscriptionStatus entries', async () => {
    const fc = (await import('fast-check')).default;
    const count = fc.oneof(fc.nat().map(String), fc.nat(), fc.string(), fc.constant('-1'), fc.constant(null));
    const reference = fc.oneof(
      fc.constant('Observation/o1'),
      fc.constant('Subscription/s1'),
      fc.string(),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const status = fc.record(
      {
        resourceType: fc.constantFrom('SubscriptionStatus', 'Parameters'),
        status: fc.oneof(fc.constantFrom('active', 'requested', 'error'), fc.integer()),
        type: fc.constantFrom(
          'handshake',
          'heartbeat',
          'event-notification',
          'query-status',
          'query-event',
          'bogus',
        ),
        eventsSinceSubscriptionStart: count,
        notificationEvent: fc.oneof(
          fc.array(
            fc.record(
              {
                eventNumber: count,
                focus: fc.record({ reference }),
                additionalContext: fc.array(fc.record({ reference }), { maxLength: 2 }),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 3 },
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        subscription: fc.oneof(fc.record({ reference }), fc.jsonValue({ maxDepth: 1 })),
        error: fc.oneof(
          fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 2 }),
          fc.jsonValue({ maxDepth: 1 }),
        ),
      },
      { requiredKeys: ['resourceType'] },
    );
    const bundle = fc.record({
      resourceType: fc.constant('Bundle'),
      type: fc.constantFrom('history', 'subscription-notification'),
      entry: fc.tuple(fc.record({ resource: status })),
    });
    fc.assert(
      fc.property(bundle, (value) => {
        const result = parseNotificationBundle(value as unknown as Json);
        if (result.ok) {
          expect(result.value.subscription.id).toBeTruthy();
          for (const e of result.value.events)
            expect(Number.isSafeInteger(e.eventNumber) && e.eventNumber >= 0).toBe(true);
          expect(result.value.release).toBe(value.type === 'subscription-notification' ? 'R5' : 'R4B');
        } else {
          expect(result.status).toBe(422);
          expect(result.outcome.issue?.[0]?.expression?.[0]).toMatch(/^Bundle\.entry\[0\]\.resource/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
