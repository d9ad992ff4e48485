import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource, Subscription } from '@medplum/fhirtypes';
import type { PayloadContent } from './backport-settings.js';
import type { StoredEvent } from './event-store.js';

/** Notification types (Backport IG backport-notification-type). */
export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';

const NOTIFICATION_PROFILE =
  'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4';
const STATUS_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';

/** Inputs of the SubscriptionStatus `Parameters` (Backport IG backport-subscription-status-r4). */
export interface StatusInput {
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

/**
 * A notification Bundle (Backport IG, R4: Bundle type `history`, first entry the status
 * Parameters with request `GET [base]/Subscription/[id]/$status`). With `full-resource` content
 * the focus resources follow (request POST `Type` for create, PUT `Type/id` for update) and the
 * additional-context resources after them (request GET).
 * @param input - status inputs; `content` decides what the entries carry.
 * @param contextResources - resolved additional-context resources (full-resource only).
 */
export function buildNotificationBundle(input: StatusInput, contextResources: readonly Resource[] = []): Bundle {
  const status = buildStatusParameters(input);
  const entry: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:${status.id}`,
      resource: status,
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
    meta: { profile: [NOTIFICATION_PROFILE] },
    type: 'history',
    timestamp: new Date().toISOString(),
    entry,
  };
}

function absoluteReference(baseUrl: string, resource: Resource): string {
  return `${baseUrl}/${resource.resourceType}/${resource.id}`;
}
