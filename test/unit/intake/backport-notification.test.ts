import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backportIntakeEvents } from '../../../src/intake/backport-events.js';
import { parseNotificationBundle, parseReference, parseStatusResource } from '../../../src/intake/backport-notification.js';
import { parseBackportDelivery, statusUpdateOf } from '../../../src/intake/parse-backport-delivery.js';
import type { SubscriptionRow } from '../../../src/store/subscriptions-repository.js';
import { thirdPartyFixture } from '../../helpers/fixtures.js';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(thirdPartyFixture('subscriptions-backport', name), 'utf8')) as Record<string, unknown>;
}

function parse(name: string) {
  const result = parseNotificationBundle(fixture(name));
  if (!result.ok) throw new Error(`${name}: ${JSON.stringify(result.outcome)}`);
  return result.value;
}

const row = (overrides: Partial<SubscriptionRow> = {}): SubscriptionRow =>
  ({ key: 'admission', ehr_subscription: 'admission', kind: 'backport-topic', criteria: 'Encounter', secret: 's', status: 'active', ...overrides }) as SubscriptionRow;

describe('Backport IG notification Bundles (every IG example)', () => {
  it('parses the handshake: requested → active once acknowledged, no events', () => {
    const n = parse('Bundle-r4-notification-handshake.json');
    expect(n.type).toBe('handshake');
    expect(n.subscription.id).toBe('admission');
    expect(n.eventsSinceSubscriptionStart).toBe(0);
    expect(n.events).toEqual([]);
    expect(statusUpdateOf(n).status).toBe('active');
  });

  it('parses the heartbeat with its event count', () => {
    const n = parse('Bundle-r4-notification-heartbeat.json');
    expect(n.type).toBe('heartbeat');
    expect(n.eventsSinceSubscriptionStart).toBe(2);
    expect(statusUpdateOf(n)).toMatchObject({ heartbeat: true, eventsSinceStart: 2, status: 'active' });
  });

  it.each(['Bundle-r4-notification-empty.json', 'Bundle-r4-notification-empty-with-auth.json'])('parses %s: event number, no focus', (name) => {
    const n = parse(name);
    expect(n.events).toEqual([{ eventNumber: 2, timestamp: '2020-05-29T11:44:13.1882432-05:00', focus: undefined, additionalContext: [] }]);
    const events = backportIntakeEvents('admission', n);
    expect(events).toEqual([{ dialect: 'backport', dedupeKey: 'backport:admission:admission:2', eventNumber: 2 }]);
  });

  it.each(['Bundle-r4-notification-id-only.json', 'Bundle-r4-notification-id-only-with-query.json', 'Bundle-r4-notification-id-only-with-auth.json'])(
    'parses %s: the focus reference, no resource',
    (name) => {
      const n = parse(name);
      expect(n.events[0]?.focus).toMatchObject({ resourceType: 'Encounter', id: '86009987-eabe-42bf-8c02-b112b18cb616' });
      expect(n.resources).toEqual([]);
      // Encounter is not a watched type: stored for counting, marked ignored.
      expect(backportIntakeEvents('admission', n)[0]?.ignoredReason).toMatch(/not a watched/);
    },
  );

  it.each(['Bundle-r4-notification-full-resource.json', 'Bundle-r4-notification-full-resource-with-query.json'])(
    'parses %s: the focus resource is carried',
    (name) => {
      const n = parse(name);
      expect(n.resources.map((r) => `${r.resourceType}/${r.id}`)).toEqual(['Encounter/86009987-eabe-42bf-8c02-b112b18cb616']);
      expect(backportIntakeEvents('admission', n)[0]?.payload).toMatchObject({ resourceType: 'Encounter' });
    },
  );

  it('parses the multi-resource notification: focus, additional context and both resources', () => {
    const n = parse('Bundle-r4-notification-multi-resource.json');
    expect(n.events[0]?.additionalContext[0]).toMatchObject({ resourceType: 'Patient', id: '1599eb66-431a-447c-a3de-6897fe9ae9a1' });
    expect(n.resources.map((r) => r.resourceType)).toEqual(['Encounter', 'Patient']);
  });

  it('parses the error status (query-status) and surfaces its coded reason', () => {
    const n = parse('Bundle-r4-notification-error.json');
    expect(n.type).toBe('query-status');
    expect(n.status).toBe('error');
    expect(n.errors).toEqual(['http://terminology.hl7.org/CodeSystem/subscription-error|no-response']);
    expect(statusUpdateOf(n)).toMatchObject({ status: 'error', error: 'http://terminology.hl7.org/CodeSystem/subscription-error|no-response' });
  });

  it('parses the bare SubscriptionStatus Parameters (parameters in any order)', () => {
    const result = parseStatusResource(fixture('Parameters-r4-notification-status.json'), 'Parameters');
    expect(result.ok && result.value.events[0]?.eventNumber).toBe(2);
  });

  it('parses an R4B SubscriptionStatus resource as the first entry', () => {
    const result = parseNotificationBundle({
      resourceType: 'Bundle',
      type: 'history',
      entry: [
        {
          resource: {
            resourceType: 'SubscriptionStatus',
            status: 'active',
            type: 'event-notification',
            eventsSinceSubscriptionStart: '7',
            subscription: { reference: 'Subscription/s1' },
            notificationEvent: [{ eventNumber: '7', focus: { reference: 'Observation/o1/_history/3' } }],
          },
        },
      ],
    });
    expect(result.ok && result.value.events[0]).toMatchObject({ eventNumber: 7, focus: { resourceType: 'Observation', id: 'o1', versionId: '3' } });
  });
});

describe('bad notifications get 4xx OperationOutcomes with the element path', () => {
  const expressionOf = (result: ReturnType<typeof parseNotificationBundle>): string | undefined =>
    result.ok ? undefined : result.outcome.issue?.[0]?.expression?.[0];

  it('rejects a Bundle that is not a notification', () => {
    expect(expressionOf(parseNotificationBundle({ resourceType: 'Bundle', type: 'searchset', entry: [] }))).toBe('Bundle.type');
    expect(expressionOf(parseNotificationBundle({ resourceType: 'Bundle', type: 'history' }))).toBe('Bundle.entry');
    expect(expressionOf(parseNotificationBundle({ resourceType: 'Bundle', type: 'history', entry: [{ resource: { resourceType: 'Patient' } }] }))).toBe(
      'Bundle.entry[0].resource.resourceType',
    );
  });

  it('names the bad parameter', () => {
    const bundle = fixture('Bundle-r4-notification-heartbeat.json') as { entry: Array<{ resource: { parameter: Array<Record<string, unknown>> } }> };
    const parameters = bundle.entry[0]?.resource.parameter ?? [];
    parameters[4] = { name: 'events-since-subscription-start', valueString: 'many' };
    const result = parseNotificationBundle(bundle as unknown as Record<string, unknown>);
    expect(result.ok).toBe(false);
    expect(expressionOf(result)).toBe('Bundle.entry[0].resource.parameter[4].valueString');
    expect(!result.ok && result.status).toBe(422);
  });

  it('answers 404 for a notification of another subscription, 400 for malformed JSON', () => {
    const raw = Buffer.from(JSON.stringify(fixture('Bundle-r4-notification-heartbeat.json')));
    const other = parseBackportDelivery(raw, row({ ehr_subscription: 'someone-else' }));
    expect(!other.ok && other.status).toBe(404);
    const broken = parseBackportDelivery(Buffer.from('{"resourceType": "Bundle",'), row());
    expect(!broken.ok && broken.status).toBe(400);
  });

  it('splits references: relative, absolute, versioned, and not a reference', () => {
    expect(parseReference('https://x.org/fhir/Observation/a-1/_history/2')).toEqual({
      reference: 'https://x.org/fhir/Observation/a-1/_history/2',
      resourceType: 'Observation',
      id: 'a-1',
      versionId: '2',
    });
    expect(parseReference('urn:uuid:1234')).toEqual({ reference: 'urn:uuid:1234' });
    expect(parseReference(42)).toBeUndefined();
  });
});

describe('property: generated garbage never throws and never yields a malformed result', () => {
  const json = fc.jsonValue({ maxDepth: 5 });
  const statusParameter = fc.record({
    name: fc.constantFrom('subscription', 'topic', 'status', 'type', 'events-since-subscription-start', 'notification-event', 'error', 'x'),
    valueString: fc.oneof(fc.string(), fc.nat().map(String)),
    valueCode: fc.constantFrom('active', 'error', 'handshake', 'heartbeat', 'event-notification', 'bogus'),
    valueReference: fc.record({ reference: fc.oneof(fc.string(), fc.constant('Subscription/s1'), fc.constant('Observation/o1')) }),
    part: fc.array(fc.record({ name: fc.constantFrom('event-number', 'focus', 'timestamp', 'additional-context'), valueString: fc.oneof(fc.string(), fc.nat().map(String)), valueReference: json }), { maxLength: 4 }),
  }, { requiredKeys: ['name'] });
  const nearBundle = fc.record({
    resourceType: fc.constantFrom('Bundle', 'Parameters', 'Observation'),
    type: fc.constantFrom('history', 'subscription-notification', 'searchset', 7),
    entry: fc.array(fc.oneof(json, fc.record({ resource: fc.record({ resourceType: fc.constantFrom('Parameters', 'SubscriptionStatus'), parameter: fc.array(statusParameter, { maxLength: 8 }) }) })), { maxLength: 4 }),
  });

  it('on arbitrary JSON and near-valid notification Bundles', () => {
    fc.assert(
      fc.property(fc.oneof(json, nearBundle), (value) => {
        const input = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { value }) as Record<string, unknown>;
        const result = parseNotificationBundle(input);
        if (result.ok) {
          expect(result.value.subscription.id).toBeTruthy();
          for (const e of result.value.events) expect(Number.isSafeInteger(e.eventNumber) && e.eventNumber >= 0).toBe(true);
        } else {
          expect(result.status).toBeGreaterThanOrEqual(400);
          expect(result.status).toBeLessThan(500);
          expect(result.outcome.issue?.[0]?.expression?.[0]).toMatch(/^Bundle/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('on arbitrary bytes through the delivery parser', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const result = parseBackportDelivery(Buffer.from(bytes), row());
        expect(result.ok).toBe(false);
        if (!result.ok) expect([400, 404, 422]).toContain(result.status);
      }),
      { numRuns: 1000 },
    );
  });
});
