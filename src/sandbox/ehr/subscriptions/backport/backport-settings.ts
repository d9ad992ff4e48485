import type { Subscription } from '@medplum/fhirtypes';
import type { SearchRequest } from '@medplum/core';
import { OperationOutcomeError, parseSearchRequest } from '@medplum/core';
import type { SandboxTopic } from './sandbox-topics.js';
import { normalizeReferenceFilters } from '../../reference-filters.js';

/** Backport IG extension URLs (StructureDefinition ids under this base). */
export const BACKPORT_SD = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
const FILTER_CRITERIA = `${BACKPORT_SD}/backport-filter-criteria`;
const PAYLOAD_CONTENT = `${BACKPORT_SD}/backport-payload-content`;
const HEARTBEAT_PERIOD = `${BACKPORT_SD}/backport-heartbeat-period`;
const TIMEOUT = `${BACKPORT_SD}/backport-timeout`;
const MAX_COUNT = `${BACKPORT_SD}/backport-max-count`;

/** Payload content (Backport IG backport-payload-content: `empty` | `id-only` | `full-resource`). */
export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

/** A backport Subscription, parsed. */
export interface BackportSettings {
  topic: SandboxTopic;
  /** Filters from `backport-filter-criteria` (all must match; none → every event of the topic). */
  filters: SearchRequest[];
  content: PayloadContent;
  /** Seconds; absent → no heartbeats. */
  heartbeatPeriod?: number;
  /** Seconds to wait for the endpoint's answer. */
  timeout?: number;
  /** Most events in one notification Bundle. */
  maxCount: number;
  endpoint: string;
}

/** Result of {@link parseBackportSubscription}. */
export type ParseResult = { ok: true; value: BackportSettings } | { ok: false; error: OperationOutcomeError };

/**
 * Parses a Subscription following the Backport IG profile `backport-subscription`: `criteria` is
 * the topic canonical, `_criteria` carries filter-criteria extensions (`Type?param=value`),
 * `channel` carries heartbeat-period, timeout and max-count, `channel._payload` the content.
 * Errors name the offending element.
 */
export function parseBackportSubscription(subscription: Subscription, topics: readonly SandboxTopic[]): ParseResult {
  const fail = (expression: string, text: string): ParseResult => ({
    ok: false,
    error: new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', details: { text }, expression: [expression] }],
    }),
  });
  const topic = topics.find((t) => t.url === subscription.criteria);
  if (!topic) return fail('Subscription.criteria', `Unknown SubscriptionTopic; supported: ${topics.map((t) => t.url).join(', ')}`);
  const channel = subscription.channel;
  if (channel?.type !== 'rest-hook') return fail('Subscription.channel.type', 'the sandbox supports only rest-hook channels');
  if (!channel.endpoint || !/^https?:\/\//.test(channel.endpoint)) {
    return fail('Subscription.channel.endpoint', 'rest-hook endpoint must be an absolute http(s) URL');
  }

  const filters: SearchRequest[] = [];
  const criteriaExtensions = (subscription as { _criteria?: { extension?: Array<{ url: string; valueString?: string }> } })._criteria?.extension ?? [];
  for (let i = 0; i < criteriaExtensions.length; i++) {
    const extension = criteriaExtensions[i];
    if (extension?.url !== FILTER_CRITERIA) continue;
    const expression = `Subscription.criteria.extension[${i}].valueString`;
    const value = extension.valueString ?? '';
    let search: SearchRequest;
    try {
      search = parseSearchRequest(value);
    } catch {
      return fail(expression, 'filter criteria must be Type?param=value');
    }
    if (search.resourceType !== topic.resourceType) {
      return fail(expression, `filter criteria must be on ${topic.resourceType}, the topic's resource`);
    }
    const unsupported = (search.filters ?? []).find((f) => !topic.canFilterBy.includes(f.code));
    if (unsupported) return fail(expression, `topic cannot filter by ${unsupported.code}; allowed: ${topic.canFilterBy.join(', ')}`);
    filters.push(normalizeReferenceFilters(search));
  }

  const payloadExtensions = (channel as { _payload?: { extension?: Array<{ url: string; valueCode?: string }> } })._payload?.extension ?? [];
  const contentCode = payloadExtensions.find((e) => e.url === PAYLOAD_CONTENT)?.valueCode;
  let content: PayloadContent = 'id-only';
  if (contentCode !== undefined) {
    if (contentCode !== 'empty' && contentCode !== 'id-only' && contentCode !== 'full-resource') {
      return fail('Subscription.channel.payload.extension[0].valueCode', 'payload content must be empty, id-only or full-resource');
    }
    content = contentCode;
  }
  const channelExtensions = channel.extension ?? [];
  const heartbeatPeriod = channelExtensions.find((e) => e.url === HEARTBEAT_PERIOD)?.valueUnsignedInt;
  const timeout = channelExtensions.find((e) => e.url === TIMEOUT)?.valueUnsignedInt;
  const maxCount = channelExtensions.find((e) => e.url === MAX_COUNT)?.valuePositiveInt ?? 100;
  return {
    ok: true,
    value: {
      topic,
      filters,
      content,
      ...(heartbeatPeriod ? { heartbeatPeriod } : {}),
      ...(timeout ? { timeout } : {}),
      maxCount,
      endpoint: channel.endpoint,
    },
  };
}
