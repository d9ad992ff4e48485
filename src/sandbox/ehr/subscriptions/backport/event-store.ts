import type { Reference, Resource } from '@medplum/fhirtypes';

/** One topic event recorded for a subscription. */
export interface StoredEvent {
  /** 1-based, increasing per subscription (Backport IG notification-event.event-number). */
  eventNumber: number;
  timestamp: string;
  interaction: 'create' | 'update';
  /** The focus resource as it was at the event. */
  focus: Resource;
  /** References sent as `additional-context`. */
  additionalContext: Reference[];
}

/**
 * Per-subscription event log behind notifications, `$status` (events-since-subscription-start)
 * and `$events` (replay by number). Keeps the most recent `capacity` events per subscription.
 */
export class SubscriptionEventStore {
  private readonly events = new Map<string, StoredEvent[]>();
  private readonly counters = new Map<string, number>();

  /** @param capacity - events kept per subscription. */
  constructor(private readonly capacity = 10_000) {}

  /** Appends an event and returns it with its number. */
  append(subscriptionId: string, event: Omit<StoredEvent, 'eventNumber'>): StoredEvent {
    const eventNumber = (this.counters.get(subscriptionId) ?? 0) + 1;
    this.counters.set(subscriptionId, eventNumber);
    const stored: StoredEvent = { ...event, eventNumber };
    let list = this.events.get(subscriptionId);
    if (!list) {
      list = [];
      this.events.set(subscriptionId, list);
    }
    list.push(stored);
    if (list.length > this.capacity) list.splice(0, list.length - this.capacity);
    return stored;
  }

  /** Events since the subscription started (the last event number issued). */
  count(subscriptionId: string): number {
    return this.counters.get(subscriptionId) ?? 0;
  }

  /** Stored events with `since ≤ eventNumber ≤ until` (both inclusive, both optional). */
  range(subscriptionId: string, since?: number, until?: number): StoredEvent[] {
    return (this.events.get(subscriptionId) ?? []).filter(
      (e) => (since === undefined || e.eventNumber >= since) && (until === undefined || e.eventNumber <= until),
    );
  }

  /** Forgets a subscription (deleted). */
  forget(subscriptionId: string): void {
    this.events.delete(subscriptionId);
    this.counters.delete(subscriptionId);
  }
}
