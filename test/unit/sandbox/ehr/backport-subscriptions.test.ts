import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Bundle, Observation, OperationOutcome, Parameters, Subscription } from '@medplum/fhirtypes';
import { thirdPartyFixture } from '../../../helpers/fixtures.js';
import { createSandboxEhr } from '../../../../src/sandbox/ehr/sandbox-ehr.js';
import type { SandboxEhr } from '../../../../src/sandbox/ehr/sandbox-ehr.js';
import type { FhirDefinitions } from '../../../../src/sandbox/ehr/fhir-definitions.js';
import { loadFhirDefinitions } from '../../../../src/sandbox/ehr/fhir-definitions.js';
import { startReceiver } from './notification-receiver.js';
import type { NotificationReceiver } from './notification-receiver.js';
import { notificationShape, parameterNames } from './notification-shape.js';

const FHIR = { 'content-type': 'application/fhir+json' };
const SD = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const OBSERVATION_TOPIC = 'https://fhir-fusion.dev/fhir/SubscriptionTopic/observation-create-or-update';

let definitions: FhirDefinitions;
let sandbox: SandboxEhr;
let receiver: NotificationReceiver;

beforeAll(() => {
  definitions = loadFhirDefinitions();
});

beforeEach(async () => {
  sandbox = await createSandboxEhr({ definitions, retry: { maxAttempts: 2, initialBackoffMs: 5, timeoutMs: 2000 } });
  receiver = await startReceiver();
});

afterEach(async () => {
  await sandbox.close();
  await receiver.close();
});

function fixture(name: string): Bundle {
  return JSON.parse(readFileSync(thirdPartyFixture('subscriptions-backport', name), 'utf8')) as Bundle;
}

async function call<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) {
  const res = await sandbox.app.inject({
    method,
    url: `/fhir/${path}`,
    headers: body === undefined ? {} : FHIR,
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.json<T>() };
}

interface SubscriptionOptions {
  content?: 'empty' | 'id-only' | 'full-resource';
  filter?: string;
  heartbeat?: number;
  maxCount?: number;
  path?: string;
  topic?: string;
}

function backportSubscription(o: SubscriptionOptions = {}): Subscription {
  const channelExtensions = [
    { url: `${SD}/backport-timeout`, valueUnsignedInt: 5 },
    ...(o.heartbeat ? [{ url: `${SD}/backport-heartbeat-period`, valueUnsignedInt: o.heartbeat }] : []),
    ...(o.maxCount ? [{ url: `${SD}/backport-max-count`, valuePositiveInt: o.maxCount }] : []),
  ];
  return {
    resourceType: 'Subscription',
    meta: { profile: [`${SD}/backport-subscription`] },
    status: 'requested',
    reason: 'test',
    criteria: o.topic ?? OBSERVATION_TOPIC,
    ...(o.filter ? { _criteria: { extension: [{ url: `${SD}/backport-filter-criteria`, valueString: o.filter }] } } : {}),
    channel: {
      type: 'rest-hook',
      endpoint: `${receiver.url}${o.path ?? '/notify'}`,
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${SD}/backport-payload-content`, valueCode: o.content ?? 'id-only' }] },
      extension: channelExtensions,
    },
  } as Subscription;
}

/** Creates the subscription and waits for its handshake; returns its id. */
async function subscribe(o: SubscriptionOptions = {}): Promise<string> {
  const before = receiver.requests.length;
  const created = await call<Subscription>('POST', 'Subscription', backportSubscription(o));
  expect(created.status).toBe(201);
  await receiver.waitFor(before + 1);
  await sandbox.idle();
  const read = await call<Subscription>('GET', `Subscription/${created.body.id}`);
  expect(read.body.status).toBe('active');
  return created.body.id ?? '';
}

function observation(value: number, patient?: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    valueQuantity: { value },
    ...(patient ? { subject: { reference: `Patient/${patient}` } } : {}),
  };
}

function notifications(path = '/notify'): Bundle[] {
  return receiver.requests.filter((r) => r.url === path).map((r) => JSON.parse(r.body) as Bundle);
}

function eventNumbers(bundle: Bundle): number[] {
  const status = bundle.entry?.[0]?.resource as Parameters;
  return (status.parameter ?? [])
    .filter((p) => p.name === 'notification-event')
    .map((p) => Number(p.part?.find((q) => q.name === 'event-number')?.valueString));
}

describe('Subscriptions R5 Backport IG on R4', () => {
  it('serves its topics as Basic resources', async () => {
    const res = await call<Bundle>('GET', 'Basic?code=http://hl7.org/fhir/fhir-types|SubscriptionTopic');
    expect(res.body.total).toBe(3);
  });

  it('handshakes (shape of the IG handshake) and then activates', async () => {
    await subscribe();
    const [handshake] = notifications();
    expect(notificationShape(handshake)).toEqual(notificationShape(fixture('Bundle-r4-notification-handshake.json')));
  });

  it('puts the subscription in error when the handshake fails', async () => {
    receiver.script = [500, 500];
    const created = await call<Subscription>('POST', 'Subscription', backportSubscription());
    await receiver.waitFor(2);
    await sandbox.idle();
    const read = await call<Subscription>('GET', `Subscription/${created.body.id}`);
    expect(read.body.status).toBe('error');
    expect(read.body.error).toMatch(/Handshake failed/);
    const status = await call<Bundle>('GET', `Subscription/${created.body.id}/$status`);
    const errorShape = notificationShape(fixture('Bundle-r4-notification-error.json').entry?.[0]?.resource);
    expect(notificationShape(status.body.entry?.[0]?.resource)).toEqual(errorShape);
  });

  it('rejects unknown topics and bad filters with the element path', async () => {
    const unknown = await call<OperationOutcome>('POST', 'Subscription', backportSubscription({ topic: 'http://example.org/topic/none' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.issue[0]?.expression).toEqual(['Subscription.criteria']);
    const badFilter = await call<OperationOutcome>('POST', 'Subscription', backportSubscription({ filter: 'Encounter?patient=Patient/1' }));
    expect(badFilter.status).toBe(400);
    expect(badFilter.body.issue[0]?.expression).toEqual(['Subscription.criteria.extension[0].valueString']);
  });

  it.each([
    ['empty', 'Bundle-r4-notification-empty.json', undefined],
    ['id-only', 'Bundle-r4-notification-id-only.json', undefined],
    ['full-resource', 'Bundle-r4-notification-full-resource.json', undefined],
    ['full-resource', 'Bundle-r4-notification-multi-resource.json', 'p1'],
  ] as const)('emits %s notifications shaped like %s', async (content, name, patient) => {
    if (patient) await call('PUT', `Patient/${patient}`, { resourceType: 'Patient', id: patient });
    await subscribe({ content });
    await call('POST', 'Observation', observation(1, patient));
    await receiver.waitFor(2);
    await sandbox.idle();
    const [, event] = notifications();
    expect(notificationShape(event)).toEqual(notificationShape(fixture(name)));
    expect(parameterNames(event ?? {})).toEqual(parameterNames(fixture(name)));
  });

  it('numbers events in order, filters by criteria and batches a transaction up to max-count', async () => {
    await subscribe({ filter: 'Observation?patient=p2', maxCount: 2 });
    await call('PUT', 'Patient/p2', { resourceType: 'Patient', id: 'p2' });
    await call('POST', 'Observation', observation(1, 'p2'));
    await call('POST', 'Observation', observation(2, 'other'));
    await call('POST', 'Observation', observation(3, 'p2'));
    await call('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [4, 5, 6].map((v) => ({ resource: observation(v, 'p2'), request: { method: 'POST', url: 'Observation' } })),
    });
    await receiver.waitFor(1 + 4);
    await sandbox.idle();
    const events = notifications().slice(1);
    expect(events.map(eventNumbers)).toEqual([[1], [2], [3, 4], [5]]);
    const lastStatus = events.at(-1)?.entry?.[0]?.resource as Parameters;
    expect(lastStatus.parameter?.find((p) => p.name === 'events-since-subscription-start')?.valueString).toBe('5');
  });

  it('sends heartbeats shaped like the IG heartbeat', async () => {
    await subscribe({ heartbeat: 1 });
    await receiver.waitFor(2, 5000);
    const [, heartbeat] = notifications();
    expect(notificationShape(heartbeat)).toEqual(notificationShape(fixture('Bundle-r4-notification-heartbeat.json')));
  });

  it('answers $status at instance and type level, and $events by number range and content', async () => {
    const id = await subscribe({ content: 'id-only' });
    for (const v of [1, 2, 3]) await call('POST', 'Observation', observation(v));
    await sandbox.idle();

    const instance = await call<Bundle>('GET', `Subscription/${id}/$status`);
    expect(instance.status).toBe(200);
    expect(instance.body.type).toBe('searchset');
    const status = instance.body.entry?.[0]?.resource as Parameters;
    const statusFixture = JSON.parse(readFileSync(thirdPartyFixture('subscriptions-backport', 'Parameters-r4-notification-status.json'), 'utf8')) as Parameters;
    const names = (p: Parameters): string[] => (p.parameter ?? []).map((q) => q.name).filter((n) => n !== 'notification-event').sort();
    expect(names(status)).toEqual(names(statusFixture));
    expect(status.parameter?.find((p) => p.name === 'events-since-subscription-start')?.valueString).toBe('3');
    expect(status.parameter?.find((p) => p.name === 'type')?.valueCode).toBe('query-status');

    const typeLevel = await call<Bundle>('POST', 'Subscription/$status', { resourceType: 'Parameters', parameter: [{ name: 'status', valueCode: 'active' }] });
    expect(typeLevel.body.entry).toHaveLength(1);

    const replay = await call<Bundle>('GET', `Subscription/${id}/$events?eventsSinceNumber=2&eventsUntilNumber=3&content=full-resource`);
    expect(replay.status).toBe(200);
    expect(replay.body.type).toBe('history');
    expect(eventNumbers(replay.body)).toEqual([2, 3]);
    expect(replay.body.entry).toHaveLength(3);
    expect((replay.body.entry?.[0]?.resource as Parameters).parameter?.find((p) => p.name === 'type')?.valueCode).toBe('query-event');

    const bad = await call<OperationOutcome>('GET', `Subscription/${id}/$events?eventsSinceNumber=x`);
    expect(bad.status).toBe(400);
    expect(bad.body.issue[0]?.expression).toEqual(['eventsSinceNumber']);
  });

  it('injects faults deterministically: drop, duplicate, reorder', async () => {
    const id = await subscribe();
    sandbox.faults.set({ drop: 1, seed: 1 });
    await call('POST', 'Observation', observation(1));
    await sandbox.idle();
    expect(notifications()).toHaveLength(1); // only the handshake
    const replay = await call<Bundle>('GET', `Subscription/${id}/$events`);
    expect(eventNumbers(replay.body)).toEqual([1]);

    sandbox.faults.set({ duplicate: 1, seed: 1 });
    await call('POST', 'Observation', observation(2));
    await receiver.waitFor(3);
    await sandbox.idle();
    expect(notifications().slice(1).map(eventNumbers)).toEqual([[2], [2]]);

    const received = async (seed: number): Promise<number[]> => {
      receiver.requests.length = 0;
      sandbox.faults.set({ reorder: true, drop: 0.3, seed });
      for (let v = 0; v < 8; v++) await call('POST', 'Observation', observation(v));
      await sandbox.idle();
      return notifications().flatMap(eventNumbers);
    };
    const first = await received(42);
    const firstNumbers = [...first].sort((a, b) => a - b);
    expect(first).not.toEqual(firstNumbers);
    expect(first.length).toBeLessThan(8);
    const second = await received(42);
    // Same seed → same drops and the same order (shifted by the 8 events in between).
    expect(second.map((n) => n - 8)).toEqual(first);
  });
});
