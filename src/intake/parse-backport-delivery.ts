import { outcome } from '../fhir/operation-outcome.js';
import type { SubscriptionRow, SubscriptionStatusUpdate } from '../store/subscriptions-repository.js';
import { backportIntakeEvents } from './backport-events.js';
import type { BackportNotification } from './backport-notification.js';
import { parseNotificationBundle } from './backport-notification.js';
import type { IntakeEvent } from '../contracts/intake-event.js';
import type { IntakeParseResult } from './parse-rest-hook.js';
import { parseJsonObject } from './parse-rest-hook.js';

/** A parsed Backport IG delivery: the inbox events and the status update to record with them. */
export interface BackportDelivery {
  events: IntakeEvent[];
  store: { status: SubscriptionStatusUpdate };
  notification: BackportNotification;
}

/** The status update a notification implies (Backport IG §Notification types). */
export function statusUpdateOf(notification: BackportNotification): SubscriptionStatusUpdate {
  const numbers = notification.events.map((e) => e.eventNumber);
  return {
    // A handshake is sent while the Subscription is `requested`; our 2xx is what activates it.
    status: notification.type === 'handshake' && notification.status === 'requested' ? 'active' : notification.status,
    ...(notification.subscription.id ? { ehrSubscription: notification.subscription.id } : {}),
    ...(notification.eventsSinceSubscriptionStart !== undefined ? { eventsSinceStart: notification.eventsSinceSubscriptionStart } : {}),
    ...(numbers.length > 0 ? { lastEventNumber: Math.max(...numbers) } : {}),
    heartbeat: notification.type === 'heartbeat',
    ...(notification.errors.length > 0 ? { error: notification.errors.join(', ') } : {}),
  };
}

/**
 * Parses a topic-based notification Bundle (Backport IG on R4, R4B or R5 — see
 * {@link parseNotificationBundle}) delivered to the endpoint of
 * `subscription`: 400 for bad JSON, 422 for a Bundle that is not a notification (element path
 * in the OperationOutcome), 404 when it is for another Subscription than this endpoint's.
 */
export function parseBackportDelivery(raw: Buffer, subscription: SubscriptionRow): IntakeParseResult<BackportDelivery> {
  const json = parseJsonObject(raw);
  if (!json.ok) return json;
  const parsed = parseNotificationBundle(json.value);
  if (!parsed.ok) return parsed;
  const notification = parsed.value;
  const id = notification.subscription.id;
  if (subscription.ehr_subscription && id !== subscription.ehr_subscription) {
    return {
      ok: false,
      status: 404,
      outcome: outcome(
        'not-found',
        'The notification is for a Subscription this endpoint does not serve',
        notification.subscriptionPath,
      ),
    };
  }
  return {
    ok: true,
    value: { events: backportIntakeEvents(subscription.key, notification), store: { status: statusUpdateOf(notification) }, notification },
  };
}
