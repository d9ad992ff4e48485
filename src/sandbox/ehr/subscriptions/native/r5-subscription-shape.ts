import type { Extension, Subscription } from '@medplum/fhirtypes';
import { OperationOutcomeError } from '@medplum/core';
import type { SandboxTopic } from '../backport/sandbox-topics.js';
import { BACKPORT_SUBSCRIPTION_PROFILE } from '../backport-detection.js';
import { BACKPORT_SD } from '../backport/backport-settings.js';

type Json = Record<string, unknown>;

const CHANNEL_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/subscription-channel-type';
const FILTER_CRITERIA = `${BACKPORT_SD}/backport-filter-criteria`;
const PAYLOAD_CONTENT = `${BACKPORT_SD}/backport-payload-content`;
const HEARTBEAT_PERIOD = `${BACKPORT_SD}/backport-heartbeat-period`;
const TIMEOUT = `${BACKPORT_SD}/backport-timeout`;
const MAX_COUNT = `${BACKPORT_SD}/backport-max-count`;

/** R4 requires `Subscription.reason` (1..1), R5 does not (0..1): the stored stand-in, dropped on the way out. */
const NO_REASON = '(R5 Subscription without a reason)';

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function invalid(expression: string, text: string): OperationOutcomeError {
  return new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'invalid', details: { text }, expression: [expression] }],
  });
}

/**
 * An R5 Subscription (R5 §Subscription) as the sandbox stores it: the Backport IG form of the same
 * request, which its R4 store and topic engine understand. The mapping is the IG's own (each
 * Backport extension is the R5 element it backports): `topic` → `criteria`, `filterBy[]` →
 * `backport-filter-criteria` (`Type?param[:modifier]=[comparator]value`), `channelType.code` →
 * `channel.type`, `endpoint`, `parameter[]` → `channel.header` (`name: value`), `heartbeatPeriod`,
 * `timeout`, `maxCount`, `contentType` → `channel.payload`, `content` → `backport-payload-content`.
 * Refuses what R5 does not allow (no `topic`, a `criteria` — R5 has none) with the R5 element path.
 */
export function r5ToBackport(body: Json, topics: readonly SandboxTopic[]): Subscription {
  if (typeof body.criteria === 'string') {
    throw invalid(
      'Subscription.criteria',
      'R5 Subscriptions have no criteria (R5 §Subscription): name a SubscriptionTopic in topic',
    );
  }
  if (typeof body.topic !== 'string' || body.topic === '')
    throw invalid('Subscription.topic', 'topic (a SubscriptionTopic canonical) is required');
  const channelType = isObject(body.channelType) ? body.channelType : undefined;
  if (!channelType || typeof channelType.code !== 'string')
    throw invalid('Subscription.channelType', 'channelType (a Coding) is required');
  if (channelType.system !== undefined && channelType.system !== CHANNEL_TYPE_SYSTEM) {
    throw invalid('Subscription.channelType.system', `channelType.system must be ${CHANNEL_TYPE_SYSTEM}`);
  }
  const topic = topics.find((t) => t.url === body.topic);
  const filters: Extension[] = [];
  const filterBy = Array.isArray(body.filterBy) ? body.filterBy : [];
  for (let i = 0; i < filterBy.length; i++) {
    const f: unknown = filterBy[i];
    const at = `Subscription.filterBy[${i}]`;
    if (!isObject(f) || typeof f.filterParameter !== 'string' || typeof f.value !== 'string') {
      throw invalid(at, 'filterBy needs filterParameter and value');
    }
    const type =
      typeof f.resourceType === 'string' ? f.resourceType.replace(/^.*\//, '') : topic?.resourceType;
    const modifier = typeof f.modifier === 'string' ? `:${f.modifier}` : '';
    const comparator = typeof f.comparator === 'string' ? f.comparator : '';
    filters.push({
      url: FILTER_CRITERIA,
      valueString: `${type ?? ''}?${f.filterParameter}${modifier}=${comparator}${f.value}`,
    });
  }
  const headers = (Array.isArray(body.parameter) ? body.parameter : [])
    .filter(isObject)
    .filter((p) => typeof p.name === 'string' && typeof p.value === 'string')
    .map((p) => `${String(p.name)}: ${String(p.value)}`);
  const channelExtensions: Extension[] = [];
  if (typeof body.heartbeatPeriod === 'number')
    channelExtensions.push({ url: HEARTBEAT_PERIOD, valueUnsignedInt: body.heartbeatPeriod });
  if (typeof body.timeout === 'number')
    channelExtensions.push({ url: TIMEOUT, valueUnsignedInt: body.timeout });
  if (typeof body.maxCount === 'number')
    channelExtensions.push({ url: MAX_COUNT, valuePositiveInt: body.maxCount });
  const meta = isObject(body.meta) ? body.meta : {};
  return {
    resourceType: 'Subscription',
    ...(typeof body.id === 'string' ? { id: body.id } : {}),
    meta: { ...meta, profile: [BACKPORT_SUBSCRIPTION_PROFILE] },
    status: (typeof body.status === 'string' ? body.status : 'requested') as Subscription['status'],
    reason: typeof body.reason === 'string' ? body.reason : NO_REASON,
    ...(typeof body.end === 'string' ? { end: body.end } : {}),
    criteria: body.topic,
    ...(filters.length > 0 ? { _criteria: { extension: filters } } : {}),
    channel: {
      type: channelType.code as Subscription['channel']['type'],
      ...(typeof body.endpoint === 'string' ? { endpoint: body.endpoint } : {}),
      ...(headers.length > 0 ? { header: headers } : {}),
      payload: typeof body.contentType === 'string' ? body.contentType : 'application/fhir+json',
      ...(channelExtensions.length > 0 ? { extension: channelExtensions } : {}),
      ...(typeof body.content === 'string'
        ? { _payload: { extension: [{ url: PAYLOAD_CONTENT, valueCode: body.content }] } }
        : {}),
    },
  } as Subscription;
}

/** The stored Backport form back in the R5 shape (the inverse of {@link r5ToBackport}). */
export function backportToR5(subscription: Subscription): Json {
  const channel = subscription.channel;
  const channelExtensions = channel.extension ?? [];
  const criteriaExtensions =
    (subscription as { _criteria?: { extension?: Extension[] } })._criteria?.extension ?? [];
  const payloadExtensions = (channel as { _payload?: { extension?: Extension[] } })._payload?.extension ?? [];
  const filterBy = criteriaExtensions
    .filter((e) => e.url === FILTER_CRITERIA && typeof e.valueString === 'string')
    .map((e) => {
      const match = /^([A-Za-z]*)\?([^=:]+)(?::([^=]+))?=(.*)$/.exec(e.valueString ?? '');
      return match
        ? {
            ...(match[1] ? { resourceType: match[1] } : {}),
            filterParameter: match[2],
            ...(match[3] ? { modifier: match[3] } : {}),
            value: match[4],
          }
        : undefined;
    })
    .filter((f) => f !== undefined);
  const parameter = (channel.header ?? []).flatMap((line) => {
    const colon = line.indexOf(':');
    return colon > 0 ? [{ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() }] : [];
  });
  const profiles = (subscription.meta?.profile ?? []).filter((p) => p !== BACKPORT_SUBSCRIPTION_PROFILE);
  const meta = { ...subscription.meta, ...(profiles.length > 0 ? { profile: profiles } : {}) };
  if (profiles.length === 0) delete meta.profile;
  const heartbeat = channelExtensions.find((e) => e.url === HEARTBEAT_PERIOD)?.valueUnsignedInt;
  const timeout = channelExtensions.find((e) => e.url === TIMEOUT)?.valueUnsignedInt;
  const maxCount = channelExtensions.find((e) => e.url === MAX_COUNT)?.valuePositiveInt;
  const content = payloadExtensions.find((e) => e.url === PAYLOAD_CONTENT)?.valueCode;
  return {
    resourceType: 'Subscription',
    ...(subscription.id ? { id: subscription.id } : {}),
    meta,
    status: subscription.status,
    ...(subscription.reason && subscription.reason !== NO_REASON ? { reason: subscription.reason } : {}),
    ...(subscription.end ? { end: subscription.end } : {}),
    topic: subscription.criteria,
    ...(filterBy.length > 0 ? { filterBy } : {}),
    channelType: { system: CHANNEL_TYPE_SYSTEM, code: channel.type },
    ...(channel.endpoint ? { endpoint: channel.endpoint } : {}),
    ...(parameter.length > 0 ? { parameter } : {}),
    ...(heartbeat !== undefined ? { heartbeatPeriod: heartbeat } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
    ...(channel.payload ? { contentType: channel.payload } : {}),
    ...(content ? { content } : {}),
    ...(maxCount !== undefined ? { maxCount } : {}),
  };
}
