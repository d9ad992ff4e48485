import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Observation } from '@medplum/fhirtypes';
import { createSandboxEhr } from '../../../../src/sandbox/ehr/sandbox-ehr.js';
import type { SandboxEhr } from '../../../../src/sandbox/ehr/sandbox-ehr.js';
import type { FhirDefinitions } from '../../../../src/sandbox/ehr/fhir-definitions.js';
import { loadFhirDefinitions } from '../../../../src/sandbox/ehr/fhir-definitions.js';
import { parseNotificationBundle } from '../../../../src/intake/backport-notification.js';
import { startReceiver } from './notification-receiver.js';
import type { NotificationReceiver } from './notification-receiver.js';

const FHIR = { 'content-type': 'application/fhir+json' };
const OBSERVATION_TOPIC = 'https://fhir-fusion.dev/fhir/SubscriptionTopic/observation-create-or-update';
const CHANNEL = {
  system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type',
  code: 'rest-hook',
};

let definitions: FhirDefinitions;
let sandbox: SandboxEhr | undefined;
let receiver: NotificationReceiver | undefined;

beforeAll(() => {
  definitions = loadFhirDefinitions();
});

afterEach(async () => {
  await sandbox?.close();
  await receiver?.close();
});

async function start(
  release: 'R4B' | 'R5',
): Promise<{ sandbox: SandboxEhr; receiver: NotificationReceiver }> {
  sandbox = await createSandboxEhr({
    definitions,
    release,
    retry: { maxAttempts: 2, initialBackoffMs: 5, timeoutMs: 2000 },
  });
  receiver = await startReceiver();
  return { sandbox, receiver };
}

async function call(ehr: SandboxEhr, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) {
  const res = await ehr.app.inject({
    method,
    url: `/fhir/${path}`,
    headers: body === undefined ? {} : FHIR,
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
}

const observation = (patient: string): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: `Patient/${patient}` },
  valueQuantity: { value: 70, unit: '/min' },
});

describe('sandbox EHR as an R5 server', () => {
  it('announces 5.0.0 and publishes its topics as SubscriptionTopic resources', async () => {
    const { sandbox: ehr } = await start('R5');
    const metadata = await call(ehr, 'GET', 'metadata');
    expect(metadata.body.fhirVersion).toBe('5.0.0');
    expect(metadata.body.instantiates).toBeUndefined();
    const topics = await call(ehr, 'GET', 'SubscriptionTopic');
    const urls = (
      topics.body.entry as Array<{ resource: { url: string; resourceTrigger: Array<{ resource: string }> } }>
    ).map((e) => e.resource);
    expect(urls.find((t) => t.url === OBSERVATION_TOPIC)?.resourceTrigger[0]?.resource).toBe(
      'http://hl7.org/fhir/StructureDefinition/Observation',
    );
  });

  it('accepts an R5 Subscription, hand-shakes, and sends subscription-notification Bundles filtered by filterBy', async () => {
    const { sandbox: ehr, receiver: endpoint } = await start('R5');
    const created = await call(ehr, 'POST', 'Subscription', {
      resourceType: 'Subscription',
      status: 'requested',
      topic: OBSERVATION_TOPIC,
      filterBy: [{ filterParameter: 'patient', value: 'Patient/p1' }],
      channelType: CHANNEL,
      endpoint: `${endpoint.url}/notify`,
      parameter: [{ name: 'Authorization', value: 'Bearer s3cret' }],
      heartbeatPeriod: 3600,
      contentType: 'application/fhir+json',
      content: 'id-only',
      maxCount: 10,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // The answer is R5-shaped: the store's Backport form never shows.
    expect(created.body).toMatchObject({
      topic: OBSERVATION_TOPIC,
      channelType: CHANNEL,
      content: 'id-only',
      maxCount: 10,
      heartbeatPeriod: 3600,
    });
    expect(created.body.filterBy).toEqual([
      { resourceType: 'Observation', filterParameter: 'patient', value: 'Patient/p1' },
    ]);
    expect(created.body.criteria).toBeUndefined();
    const [handshake] = await endpoint.waitFor(1);
    expect(handshake?.headers.authorization).toBe('Bearer s3cret');
    const parsedHandshake = parseNotificationBundle(
      JSON.parse(handshake?.body ?? '{}') as Record<string, unknown>,
    );
    expect(parsedHandshake.ok && parsedHandshake.value).toMatchObject({ release: 'R5', type: 'handshake' });
    await ehr.idle();
    await call(ehr, 'POST', 'Observation', observation('p2')); // filtered out
    await call(ehr, 'POST', 'Observation', observation('p1'));
    const requests = await endpoint.waitFor(2);
    const bundle = JSON.parse(requests[1]?.body ?? '{}') as Record<string, unknown>;
    expect(bundle.type).toBe('subscription-notification');
    const parsed = parseNotificationBundle(bundle);
    expect(parsed.ok && parsed.value).toMatchObject({
      release: 'R5',
      type: 'event-notification',
      eventsSinceSubscriptionStart: 1,
    });
    expect(parsed.ok && parsed.value.events[0]?.focus?.resourceType).toBe('Observation');
    const read = await call(ehr, 'GET', `Subscription/${String(created.body.id)}`);
    expect(read.body).toMatchObject({ status: 'active', topic: OBSERVATION_TOPIC });
  });

  it('refuses an R4-style criteria Subscription and one without a topic, naming the R5 element', async () => {
    const { sandbox: ehr } = await start('R5');
    const withCriteria = await call(ehr, 'POST', 'Subscription', {
      resourceType: 'Subscription',
      status: 'requested',
      criteria: 'Observation',
      channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:1/x' },
    });
    expect(withCriteria.status).toBeGreaterThanOrEqual(400);
    expect(withCriteria.status).toBeLessThan(500);
    expect((withCriteria.body.issue as Array<{ expression: string[] }>)[0]?.expression).toEqual([
      'Subscription.criteria',
    ]);
    const withoutTopic = await call(ehr, 'POST', 'Subscription', {
      resourceType: 'Subscription',
      status: 'requested',
      channelType: CHANNEL,
    });
    expect((withoutTopic.body.issue as Array<{ expression: string[] }>)[0]?.expression).toEqual([
      'Subscription.topic',
    ]);
  });
});

describe('sandbox EHR as an R4B server', () => {
  it('announces 4.3.0, keeps the Backport Subscription and sends history Bundles with a SubscriptionStatus', async () => {
    const { sandbox: ehr, receiver: endpoint } = await start('R4B');
    expect((await call(ehr, 'GET', 'metadata')).body.fhirVersion).toBe('4.3.0');
    const SD = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
    const created = await call(ehr, 'POST', 'Subscription', {
      resourceType: 'Subscription',
      meta: { profile: [`${SD}/backport-subscription`] },
      status: 'requested',
      reason: 'test',
      criteria: OBSERVATION_TOPIC,
      channel: { type: 'rest-hook', endpoint: `${endpoint.url}/notify`, payload: 'application/fhir+json' },
    });
    expect(created.status).toBe(201);
    const [handshake] = await endpoint.waitFor(1);
    const bundle = JSON.parse(handshake?.body ?? '{}') as {
      type: string;
      entry: Array<{ resource: { resourceType: string; eventsSinceSubscriptionStart: unknown } }>;
    };
    expect(bundle.type).toBe('history');
    expect(bundle.entry[0]?.resource.resourceType).toBe('SubscriptionStatus');
    expect(bundle.entry[0]?.resource.eventsSinceSubscriptionStart).toBe('0');
    const status = await call(ehr, 'GET', `Subscription/${String(created.body.id)}/$status`);
    expect(
      (status.body.entry as Array<{ resource: { resourceType: string } }>)[0]?.resource.resourceType,
    ).toBe('SubscriptionStatus');
  });
});
