import type { Subscription } from '@medplum/fhirtypes';

/** Canonical of the Subscriptions R5 Backport IG. */
export const BACKPORT_IG = 'http://hl7.org/fhir/uv/subscriptions-backport';
const SD = `${BACKPORT_IG}/StructureDefinition`;
/** Profile of a topic-based R4/R4B Subscription (Backport IG `backport-subscription`). */
export const BACKPORT_SUBSCRIPTION_PROFILE = `${SD}/backport-subscription`;
/** R5 channel type code system (R5 §Subscription.channelType, `subscription-channel-type`). */
export const CHANNEL_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/subscription-channel-type';

/** Payload content of a topic-based subscription (R5 §Subscription.content). */
export type TopicContent = 'empty' | 'id-only' | 'full-resource';

/** What one topic-based Subscription asks for, whatever the release. */
export interface TopicSubscriptionSpec {
  /** The watched type the topic triggers on (for `reason`). */
  type: string;
  topic: string;
  endpoint: string;
  secret: string;
  heartbeatSeconds: number;
  content: TopicContent;
}

/** Most events per notification asked of R5 servers: bounds a `full-resource` body (R5 §Subscription.maxCount). */
export const MAX_EVENTS_PER_NOTIFICATION = 100;

/**
 * The R4 and R4B shape (Backport IG profile `backport-subscription`, which profiles the R4 and the
 * R4B Subscription alike): `criteria` = topic canonical, rest-hook channel with
 * `backport-heartbeat-period`, `channel.payload` the MIME type and its `backport-payload-content`
 * extension the content, the secret in `channel.header`.
 */
export function backportSubscriptionResource(spec: TopicSubscriptionSpec): Subscription {
  return {
    resourceType: 'Subscription',
    meta: { profile: [BACKPORT_SUBSCRIPTION_PROFILE] },
    status: 'requested',
    reason: `fhir-fusion: assess patients when a ${spec.type} changes`,
    criteria: spec.topic,
    channel: {
      type: 'rest-hook',
      endpoint: spec.endpoint,
      payload: 'application/fhir+json',
      header: [`Authorization: Bearer ${spec.secret}`],
      extension: [{ url: `${SD}/backport-heartbeat-period`, valueUnsignedInt: spec.heartbeatSeconds }],
      _payload: { extension: [{ url: `${SD}/backport-payload-content`, valueCode: spec.content }] },
    } as Subscription['channel'],
  };
}

/** An R5 Subscription (R5 §Subscription), the elements fhir-fusion sets. */
export interface R5Subscription {
  resourceType: 'Subscription';
  id?: string;
  status: 'requested' | 'active' | 'error' | 'off' | 'entered-in-error';
  reason?: string;
  topic: string;
  filterBy?: Array<{
    resourceType?: string;
    filterParameter: string;
    comparator?: string;
    modifier?: string;
    value: string;
  }>;
  channelType: { system: string; code: string };
  endpoint?: string;
  parameter?: Array<{ name: string; value: string }>;
  heartbeatPeriod?: number;
  timeout?: number;
  contentType?: string;
  content?: TopicContent;
  maxCount?: number;
}

/**
 * The native R5 shape. Where the Backport IG used extensions, R5 has elements: `topic` (was
 * `criteria`), `filterBy` (was `backport-filter-criteria`; none here: every event of the topic is
 * wanted), `channelType` a Coding (was the `channel.type` code), `endpoint`, `parameter` name/value
 * pairs (was `channel.header` strings; for rest-hook they are sent as HTTP headers, R5
 * §Subscription.parameter), `heartbeatPeriod`, `contentType` (was `channel.payload`), `content` (was
 * `backport-payload-content`) and `maxCount` (was `backport-max-count`).
 */
export function r5SubscriptionResource(spec: TopicSubscriptionSpec): R5Subscription {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: `fhir-fusion: assess patients when a ${spec.type} changes`,
    topic: spec.topic,
    channelType: { system: CHANNEL_TYPE_SYSTEM, code: 'rest-hook' },
    endpoint: spec.endpoint,
    parameter: [{ name: 'Authorization', value: `Bearer ${spec.secret}` }],
    heartbeatPeriod: spec.heartbeatSeconds,
    contentType: 'application/fhir+json',
    content: spec.content,
    maxCount: MAX_EVENTS_PER_NOTIFICATION,
  };
}
