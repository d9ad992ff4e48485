import type { BackportEvent, BackportNotification, CarriedResource } from './backport-notification.js';
import type { IntakeEvent } from '../contracts/intake-event.js';
import { isWatchedResourceType, patientIdFromReference } from './resource-subject.js';

/**
 * The inbox dedupe key of a topic event: subscription + event number (Backport IG
 * notification-event.event-number is unique and increasing per Subscription), so a redelivery,
 * a `$events` replay and a reordered delivery of the same event all collapse to one row.
 */
export function backportDedupeKey(subscriptionKey: string, ehrSubscription: string, eventNumber: number): string {
  // The same key for every release: R4B/R5 eventNumber has the Backport IG's meaning (R5
  // §SubscriptionStatus.notificationEvent.eventNumber), so gap detection works alike for all.
  return `backport:${subscriptionKey}:${ehrSubscription}:${eventNumber}`;
}

function carriedFocus(event: BackportEvent, resources: readonly CarriedResource[]): CarriedResource | undefined {
  const focus = event.focus;
  if (!focus?.resourceType || !focus.id) return undefined;
  return resources.find((r) => r.resourceType === focus.resourceType && r.id === focus.id);
}

function patientOf(event: BackportEvent, carried: CarriedResource | undefined): string | undefined {
  if (event.focus?.resourceType === 'Patient') return event.focus.id;
  if (carried) {
    const subject = (carried.resource.subject as { reference?: unknown } | undefined)?.reference;
    const fromSubject = patientIdFromReference(subject);
    if (fromSubject) return fromSubject;
  }
  // Topics whose notification shape includes the subject send it as additional-context.
  for (const context of event.additionalContext) {
    if (context.resourceType === 'Patient' && context.id) return context.id;
  }
  return undefined;
}

/** The inbox dialect of a notification, by the release its encoding belongs to. */
export function dialectOf(notification: Pick<BackportNotification, 'release'>): IntakeEvent['dialect'] {
  return notification.release === 'R5' ? 'topic-r5' : notification.release === 'R4B' ? 'topic-r4b' : 'backport';
}

/**
 * Turns the events of a notification into inbox events. `full-resource` content names the
 * patient (from the carried resource); `id-only` carries the focus reference only, and `empty`
 * nothing: both are stored without a patient and resolved by the subscription's resolve job.
 * Events whose focus is not a watched type cannot change an assessment and are stored as ignored
 * (so they still count for gap detection).
 */
export function backportIntakeEvents(
  subscriptionKey: string,
  notification: BackportNotification,
  dialect: IntakeEvent['dialect'] = dialectOf(notification),
): IntakeEvent[] {
  const ehrSubscription = notification.subscription.id ?? '';
  return notification.events.map((event) => {
    const carried = carriedFocus(event, notification.resources);
    const focus = event.focus;
    const base: IntakeEvent = {
      dialect,
      dedupeKey: backportDedupeKey(subscriptionKey, ehrSubscription, event.eventNumber),
      eventNumber: event.eventNumber,
    };
    if (!focus) return base;
    const versionId = carried?.versionId ?? focus.versionId;
    const withFocus: IntakeEvent = {
      ...base,
      ...(focus.resourceType ? { resourceType: focus.resourceType } : {}),
      ...(focus.id ? { resourceId: focus.id } : {}),
      ...(versionId ? { versionId } : {}),
      ...(carried ? { payload: carried.resource } : {}),
    };
    if (!isWatchedResourceType(focus.resourceType) && focus.resourceType !== 'Patient') {
      return { ...withFocus, ignoredReason: `focus ${focus.resourceType ?? 'reference'} is not a watched resource type` };
    }
    const patientId = patientOf(event, carried);
    return patientId ? { ...withFocus, patientId } : withFocus;
  });
}
