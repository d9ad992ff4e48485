import type { Pool, PoolClient } from 'pg';
import type { Queryable } from '../store/sql.js';
import { withTransaction } from '../store/transaction.js';
import type { AssessmentQueue } from '../jobs/assessment-queue.js';
import { hasNewerVersion, insertInboxEvent, markInbox } from '../store/inbox-repository.js';
import type { SubscriptionRow, SubscriptionStatusUpdate } from '../store/subscriptions-repository.js';
import { missingEventNumbers, updateSubscriptionStatus } from '../store/subscriptions-repository.js';
import type { IntakeEvent } from '../contracts/intake-event.js';

/** What happened to each event of a notification. */
export interface StoreResult {
  stored: number;
  duplicates: number;
  enqueued: number;
  /** Stored events skipped as older than a version already received. */
  stale: number;
  /** Event numbers found missing (a gap), to be recovered by the resolve job. */
  missing: number;
  /** Whether a resolve job was enqueued (pings, empty/id-only events, gaps). */
  resolve: boolean;
  /** The subscription row after the status update, when there was one. */
  subscription?: SubscriptionRow;
}

/** Options of {@link storeNotification}. */
export interface StoreOptions {
  /** What the notification said about its subscription (Backport IG SubscriptionStatus). */
  status?: SubscriptionStatusUpdate;
  /** SUBSCRIPTION_EVENT_GAP_WINDOW: the largest gap looked at number by number (default 100). */
  gapWindow?: number;
}

/** Default of SUBSCRIPTION_EVENT_GAP_WINDOW. */
export const DEFAULT_GAP_WINDOW = 100;

/** A gap in a Backport subscription's event numbers above what is already accounted for. */
export type EventGap =
  | { kind: 'none' }
  /** At most `window` numbers: each is looked for (inbox) and fetched with `$events`. */
  | { kind: 'window'; missing: number[]; upTo: number }
  /** More than `window` numbers: reconciled by one `_lastUpdated` search, never materialised. */
  | { kind: 'beyond'; from: number; upTo: number };

/**
 * The gap above `reconciled_through` up to `events_since_start` (Backport IG §Detecting errors).
 * Its cost is bounded by `window` whatever the event numbers are (issue 18.2: a notification with
 * event number 10^8 used to scan and fill 10^8 numbers).
 */
export async function eventGapOf(db: Queryable, row: SubscriptionRow, window: number): Promise<EventGap> {
  const upTo = Number(row.events_since_start ?? 0);
  const from = Number(row.reconciled_through ?? 0);
  if (row.kind !== 'backport-topic' || upTo <= from) return { kind: 'none' };
  if (upTo - from > window) return { kind: 'beyond', from, upTo };
  const missing = await missingEventNumbers(db, row.key, from, upTo);
  return missing.length > 0 ? { kind: 'window', missing, upTo } : { kind: 'none' };
}

/**
 * Commits the events to the inbox, the subscription's tracking state and the jobs in ONE
 * transaction, before the caller answers 2xx: a crash before commit means the EHR gets no 2xx and
 * redelivers; after commit the jobs exist. A redelivered event (same dedupe key) stores nothing
 * and enqueues nothing. Events naming their patient enqueue the per-patient assessment; events
 * that do not (pings, `empty` and `id-only` content) and gaps in event numbers enqueue the
 * subscription's resolve job.
 */
export async function storeNotification(pool: Pool, ...args: StoreArguments): Promise<StoreResult> {
  return withTransaction(pool, (client) => storeInTransaction(client, ...args));
}

/** What {@link storeNotification} and {@link storeInTransaction} store, after the connection. */
type StoreArguments = [
  queue: AssessmentQueue,
  subscription: string,
  events: IntakeEvent[],
  traceId: string,
  options?: StoreOptions,
];

/** The body of {@link storeNotification}, for callers that already hold a transaction. */
export async function storeInTransaction(
  client: PoolClient,
  ...[queue, subscription, events, traceId, options = {}]: StoreArguments
): Promise<StoreResult> {
  const result: StoreResult = { stored: 0, duplicates: 0, enqueued: 0, stale: 0, missing: 0, resolve: false };
  const patients = new Set<string>();
  const queuedIds: string[] = [];
  const staleIds: string[] = [];
  let unresolved = false;
  for (const event of events) {
    const stale =
      event.ignoredReason === undefined &&
      event.payload !== undefined &&
      event.resourceType !== undefined &&
      event.resourceId !== undefined &&
      event.versionId !== undefined &&
      (await hasNewerVersion(client, event.resourceType, event.resourceId, event.versionId));
    const id = await insertInboxEvent(client, subscription, event, traceId);
    if (id === undefined) {
      result.duplicates++;
      continue;
    }
    result.stored++;
    if (event.ignoredReason !== undefined) continue;
    if (stale) {
      // A full-resource delivery older than what we already have: nothing new to assess.
      staleIds.push(id);
      result.stale++;
    } else if (event.patientId) {
      patients.add(event.patientId);
      queuedIds.push(id);
    } else {
      unresolved = true;
    }
  }
  for (const patientId of patients) {
    if (await queue.enqueue(client, { patientId, traceId })) result.enqueued++;
  }
  await markInbox(client, queuedIds, 'queued');
  await markInbox(client, staleIds, 'ignored', { reason: 'stale version: a newer version was already received' });
  if (options.status) {
    result.subscription = await updateSubscriptionStatus(client, subscription, options.status);
    if (result.subscription) {
      const gap = await eventGapOf(client, result.subscription, options.gapWindow ?? DEFAULT_GAP_WINDOW);
      result.missing = gap.kind === 'window' ? gap.missing.length : gap.kind === 'beyond' ? gap.upTo - gap.from : 0;
    }
  }
  if (unresolved || result.missing > 0) {
    result.resolve = true;
    await queue.enqueueResolve(client, { subscription, traceId });
  }
  return result;
}
