import { createHmac } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Observation, OperationOutcome, Subscription } from '@medplum/fhirtypes';
import { createSandboxEhr } from '../../../../src/sandbox/ehr/sandbox-ehr.js';
import type { SandboxEhr } from '../../../../src/sandbox/ehr/sandbox-ehr.js';
import type { FhirDefinitions } from '../../../../src/sandbox/ehr/fhir-definitions.js';
import { loadFhirDefinitions } from '../../../../src/sandbox/ehr/fhir-definitions.js';
import { DELIVERY_STYLE_URL, SUBSCRIPTION_SECRET_URL } from '../../../../src/sandbox/ehr/subscriptions/rest-hook-request.js';
import { startReceiver } from './notification-receiver.js';
import type { NotificationReceiver } from './notification-receiver.js';

const FHIR = { 'content-type': 'application/fhir+json' };
const HEART_RATE = { coding: [{ system: 'http://loinc.org', code: '8867-4' }] };

let definitions: FhirDefinitions;
let sandbox: SandboxEhr;
let receiver: NotificationReceiver;

beforeAll(() => {
  definitions = loadFhirDefinitions();
});

beforeEach(async () => {
  sandbox = await createSandboxEhr({ definitions, retry: { maxAttempts: 3, initialBackoffMs: 5, timeoutMs: 2000 } });
  receiver = await startReceiver();
});

afterEach(async () => {
  await sandbox.close();
  await receiver.close();
});

async function post<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
  const res = await sandbox.app.inject({ method: 'POST', url: `/fhir/${path}`, headers: FHIR, payload: JSON.stringify(body) });
  return { status: res.statusCode, body: res.json<T>() };
}

function subscription(extra: Omit<Partial<Subscription>, 'channel'> & { channel?: Partial<Subscription['channel']> }): Subscription {
  const { channel, ...rest } = extra;
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'test',
    criteria: 'Observation?code=http://loinc.org|8867-4',
    ...rest,
    channel: { type: 'rest-hook', endpoint: `${receiver.url}/hook`, ...channel },
  };
}

function heartRate(value: number): Observation {
  return { resourceType: 'Observation', status: 'final', code: HEART_RATE, valueQuantity: { value, unit: '/min' } };
}

describe('classic R4 rest-hook subscriptions', () => {
  it('activates a requested subscription and pings only for matching resources, with channel headers', async () => {
    const created = await post<Subscription>('Subscription', subscription({ channel: { header: ['Authorization: Bearer abc', 'X-Tenant: t1'] } }));
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('active');

    await post('Observation', { ...heartRate(70), code: { coding: [{ system: 'http://loinc.org', code: '9279-1' }] } });
    await post('Observation', heartRate(71));
    await sandbox.idle();

    expect(receiver.requests).toHaveLength(1);
    const [ping] = receiver.requests;
    expect(ping?.method).toBe('POST');
    expect(ping?.url).toBe('/hook');
    expect(ping?.body).toBe('');
    expect(ping?.headers.authorization).toBe('Bearer abc');
    expect(ping?.headers['x-tenant']).toBe('t1');
  });

  it('Medplum style: POSTs the resource signed with HMAC-SHA256 of the exact body', async () => {
    await post('Subscription', subscription({
      extension: [{ url: SUBSCRIPTION_SECRET_URL, valueString: 'shh' }],
      channel: { payload: 'application/fhir+json' },
    }));
    const observation = await post<Observation>('Observation', heartRate(72));
    await sandbox.idle();

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/fhir+json');
    const delivered = JSON.parse(request?.body ?? '{}') as Observation;
    expect(delivered.id).toBe(observation.body.id);
    expect(delivered.valueQuantity?.value).toBe(72);
    const expected = createHmac('sha256', 'shh').update(request?.body ?? '').digest('hex');
    expect(request?.headers['x-signature']).toBe(expected);
  });

  it('HAPI style: PUTs the resource to {endpoint}/{type}/{id}', async () => {
    await post('Subscription', subscription({
      extension: [{ url: DELIVERY_STYLE_URL, valueCode: 'hapi' }],
      channel: { payload: 'application/fhir+json' },
    }));
    const observation = await post<Observation>('Observation', heartRate(73));
    await sandbox.idle();

    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]?.method).toBe('PUT');
    expect(receiver.requests[0]?.url).toBe(`/hook/Observation/${observation.body.id}`);
    expect(receiver.requests[0]?.headers['x-signature']).toBeUndefined();
    expect((JSON.parse(receiver.requests[0]?.body ?? '{}') as Observation).id).toBe(observation.body.id);
  });

  it('notifies on update as well as create, and for each entry of a transaction', async () => {
    await post('Subscription', subscription({ channel: { payload: 'application/fhir+json' } }));
    const created = await post<Observation>('Observation', heartRate(60));
    const res = await sandbox.app.inject({
      method: 'PUT',
      url: `/fhir/Observation/${created.body.id}`,
      headers: FHIR,
      payload: JSON.stringify({ ...created.body, valueQuantity: { value: 61 } }),
    });
    expect(res.statusCode).toBe(200);
    await post('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: heartRate(62), request: { method: 'POST', url: 'Observation' } },
        { resource: heartRate(63), request: { method: 'POST', url: 'Observation' } },
      ],
    });
    await sandbox.idle();
    const values = receiver.requests.map((r) => (JSON.parse(r.body) as Observation).valueQuantity?.value).sort();
    expect(values).toEqual([60, 61, 62, 63]);
  });

  it('does not notify for a transaction that fails, and rolls its writes back', async () => {
    const existing = await post<Observation>('Observation', heartRate(64));
    await post('Subscription', subscription({}));
    const res = await post<OperationOutcome>('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: heartRate(65), request: { method: 'POST', url: 'Observation' } },
        {
          resource: { ...existing.body, valueQuantity: { value: 66 } },
          request: { method: 'PUT', url: `Observation/${existing.body.id}`, ifMatch: 'W/"not-the-version"' },
        },
      ],
    });
    expect(res.status).toBe(412);
    await sandbox.idle();
    expect(receiver.requests).toHaveLength(0);
    const all = await sandbox.app.inject({ method: 'GET', url: '/fhir/Observation' });
    expect(all.json<{ total: number }>().total).toBe(1);
  });

  it('retries failed deliveries with backoff and succeeds within the attempt bound', async () => {
    receiver.script = [500, 503];
    const created = await post<Subscription>('Subscription', subscription({}));
    await post('Observation', heartRate(74));
    await sandbox.idle();
    expect(receiver.requests).toHaveLength(3);
    const read = await sandbox.app.inject({ method: 'GET', url: `/fhir/Subscription/${created.body.id}` });
    expect(read.json<Subscription>().status).toBe('active');
  });

  it('puts the subscription in error after the last failed attempt', async () => {
    receiver.script = [500, 500, 500, 500];
    const created = await post<Subscription>('Subscription', subscription({}));
    await post('Observation', heartRate(75));
    await sandbox.idle();
    expect(receiver.requests).toHaveLength(3);
    await waitUntil(async () => (await readSubscription(created.body.id)).status === 'error');
    const read = await readSubscription(created.body.id);
    expect(read.error).toMatch(/3 attempts.*HTTP 500/);

    // An errored subscription no longer receives notifications.
    await post('Observation', heartRate(76));
    await sandbox.idle();
    expect(receiver.requests).toHaveLength(3);
  });

  it('counts connection errors as failures', async () => {
    const closed = await startReceiver();
    await closed.close();
    const created = await post<Subscription>('Subscription', subscription({ channel: { endpoint: `${closed.url}/gone` } }));
    await post('Observation', heartRate(77));
    await sandbox.idle();
    await waitUntil(async () => (await readSubscription(created.body.id)).status === 'error');
    expect((await readSubscription(created.body.id)).error).toMatch(/connection error/);
  });

  it('answers the write before the delivery finishes', async () => {
    await sandbox.close();
    sandbox = await createSandboxEhr({ definitions, retry: { maxAttempts: 2, initialBackoffMs: 60_000 } });
    receiver.script = [500];
    await post('Subscription', subscription({}));
    const write = await post<Observation>('Observation', heartRate(78));
    expect(write.status).toBe(201);
    await receiver.waitFor(1);
    // The retry is still 60 s away, yet the write has long been answered.
    expect(receiver.requests).toHaveLength(1);
  });

  it('rejects bad criteria and unsupported channels with the element path', async () => {
    const badCriteria = await post<OperationOutcome>('Subscription', subscription({ criteria: 'not a search' }));
    expect(badCriteria.status).toBe(400);
    expect(badCriteria.body.issue[0]?.expression).toEqual(['Subscription.criteria']);
    const badChannel = await post<OperationOutcome>('Subscription', subscription({ channel: { type: 'email', endpoint: 'mailto:a@b.c' } }));
    expect(badChannel.status).toBe(400);
    expect(badChannel.body.issue[0]?.expression).toEqual(['Subscription.channel.type']);
  });
});

async function readSubscription(id: string | undefined): Promise<Subscription> {
  const res = await sandbox.app.inject({ method: 'GET', url: `/fhir/Subscription/${id}` });
  return res.json<Subscription>();
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
