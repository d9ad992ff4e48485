import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource, Subscription } from '@medplum/fhirtypes';
import type { PayloadContent } from './backport-settings.js';
import type { StoredEvent } from './event-store.js';

/** Notification types (Backport IG backport-notification-type). */
export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

const NOTIFICATION_PROFILE =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4';
const STATUS_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';

/**
 * The release whose notification encoding the sandbox speaks: R4 (Backport IG Parameters in a
 * `history` Bundle), R4B (SubscriptionStatus in a `history` Bundle, Backport IG §Notifications) or
 * R5 (SubscriptionStatus in a `subscription-notification` Bundle, R5 §Bundle.type).
 */
export type SandboxRelease = 'R4' | 'R4B' | 'R5';

const R4B_NOTIFICATION_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification';

/** Inputs of the SubscriptionStatus (Backport IG backport-subscription-status-r4, R4B/R5 SubscriptionStatus). */
export interface StatusInput {
  /** Default R4. */
  release?: SandboxRelease;
  baseUrl: string;
  subscription: Subscription & { id: string };
  type: NotificationType;
  eventsSinceSubscriptionStart: number;
  events?: readonly StoredEvent[];
  content?: PayloadContent;
}

/**
 * The R4 SubscriptionStatus as `Parameters`, parameters in the IG's order: subscription, topic,
 * status, type, events-since-subscription-start, notification-event*, error.
 */
export function buildStatusParameters(input: StatusInput): Parameters & { id: string } {
  const { baseUrl, subscription } = input;
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `${baseUrl}/Subscription/${subscription.id}` } },
    { name: 'topic', valueCanonical: subscription.criteria },
    { name: 'status', valueCode: subscription.status },
    { name: 'type', valueCode: input.type },
    // R4 has no integer64; the IG carries the count as a string.
    { name: 'events-since-subscription-start', valueString: String(input.eventsSinceSubscriptionStart) },
  ];
  for (const event of input.events ?? []) {
    const part: ParametersParameter[] = [
      { name: 'event-number', valueString: String(event.eventNumber) },
      { name: 'timestamp', valueInstant: event.timestamp },
    ];
    if (input.content !== 'empty') {
      part.push({ name: 'focus', valueReference: { reference: absoluteReference(baseUrl, event.focus) } });
      for (const context of event.additionalContext) {
        part.push({ name: 'additional-context', valueReference: { reference: `${baseUrl}/${context.reference}` } });
      }
    }
    parameter.push({ name: 'notification-event', part });
  }
  if (subscription.status === 'error') {
    parameter.push({
      name: 'error',
      valueCodeableConcept: {
        // The reason in words is in Subscription.error; here only the coded reason, as in the IG.
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscription-error', code: 'no-response' }],
      },
    });
  }
  const id = randomUUID();
  return { resourceType: 'Parameters', id, meta: { profile: [STATUS_PROFILE] }, parameter };
}

/** The R4B/R5 `SubscriptionStatus` resource (not in the R4 type definitions, hence its own type). */
export interface SubscriptionStatusResource {
  resourceType: 'SubscriptionStatus';
  id: string;
  status: string;
  type: NotificationType;
  eventsSinceSubscriptionStart: string;
  notificationEvent?: Array<{ eventNumber: string; timestamp: string; focus?: { reference: string }; additionalContext?: Array<{ reference: string }> }>;
  subscription: { reference: string };
  topic?: string;
  error?: Array<{ coding: Array<{ system: string; code: string }> }>;
}

/**
 * The R4B/R5 SubscriptionStatus: the same information as the R4 Parameters, as elements. Counts
 * are JSON strings in both (R4B types them `string`; R5's integer64 is a string in JSON).
 */
export function buildSubscriptionStatus(input: StatusInput): SubscriptionStatusResource {
  const { baseUrl, subscription } = input;
  const events = (input.events ?? []).map((event) => ({
    eventNumber: String(event.eventNumber),
    timestamp: event.timestamp,
    ...(input.content !== 'empty'
      ? {
          focus: { reference: absoluteReference(baseUrl, event.focus) },
          ...(event.additionalContext.length > 0
            ? { additionalContext: event.additionalContext.map((c) => ({ reference: `${baseUrl}/${c.reference}` })) }
            : {}),
        }
      : {}),
  }));
  return {
    resourceType: 'SubscriptionStatus',
    id: randomUUID(),
    status: subscription.status,
    type: input.type,
    eventsSinceSubscriptionStart: String(input.eventsSinceSubscriptionStart),
    ...(events.length > 0 ? { notificationEvent: events } : {}),
    subscription: { reference: `${baseUrl}/Subscription/${subscription.id}` },
    ...(subscription.criteria ? { topic: subscription.criteria } : {}),
    ...(subscription.status === 'error'
      ? { error: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/subscription-error', code: 'no-response' }] }] }
      : {}),
  };
}

/** The status resource of the input's release: Parameters (R4) or SubscriptionStatus (R4B, R5). */
export function buildStatusResource(input: StatusInput): (Parameters & { id: string }) | SubscriptionStatusResource {
  return (input.release ?? 'R4') === 'R4' ? buildStatusParameters(input) : buildSubscriptionStatus(input);
}

/**
 * A notification Bundle of the input's release (Backport IG, R4: Bundle type `history`, first
 * entry the status Parameters; R4B: the same with a SubscriptionStatus; R5: type
 * `subscription-notification`, first entry a SubscriptionStatus (bdl-13)), the status entry with request `GET [base]/Subscription/[id]/$status`). With `full-resource` content
 * the focus resources follow (request POST `Type` for create, PUT `Type/id` for update) and the
 * additional-context resources after them (request GET).
 * @param input - status inputs; `content` decides what the entries carry.
 * @param contextResources - resolved additional-context resources (full-resource only).
 */
export function buildNotificationBundle(input: StatusInput, contextResources: readonly Resource[] = []): Bundle {
  const release = input.release ?? 'R4';
  const status = buildStatusResource(input);
  const entry: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:${status.id}`,
      // The R4 types do not know SubscriptionStatus; the Bundle is only serialised.
      resource: status as Resource,
      request: { method: 'GET', url: `${input.baseUrl}/Subscription/${input.subscription.id}/$status` },
      response: { status: '200' },
    },
  ];
  if (input.content === 'full-resource') {
    for (const event of input.events ?? []) {
      const focus = event.focus;
      entry.push({
        fullUrl: absoluteReference(input.baseUrl, focus),
        resource: focus,
        request:
          event.interaction === 'create'
            ? { method: 'POST', url: focus.resourceType }
            : { method: 'PUT', url: `${focus.resourceType}/${focus.id}` },
        response: { status: event.interaction === 'create' ? '201' : '200' },
      });
    }
    for (const context of contextResources) {
      entry.push({
        fullUrl: absoluteReference(input.baseUrl, context),
        resource: context,
        request: { method: 'GET', url: `${context.resourceType}/${context.id}` },
        response: { status: '200' },
      });
    }
  }
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    ...(release === 'R5' ? {} : { meta: { profile: [release === 'R4' ? NOTIFICATION_PROFILE : R4B_NOTIFICATION_PROFILE] } }),
    // R4 and R4B: `history` (Backport IG §Notifications); R5: `subscription-notification`.
    type: (release === 'R5' ? 'subscription-notification' : 'history') as Bundle['type'],
    timestamp: new Date().toISOString(),
    entry,
  };
}

function absoluteReference(baseUrl: string, resource: Resource): string {
  return `${baseUrl}/${resource.resourceType}/${resource.id}`;
}
