import type { Queryable, Sql } from './sql.js';
import { run } from './sql.js';

/** A subscription fhir-fusion holds on an EHR (the key is part of the notification URL). */
export interface SubscriptionRow extends Record<string, unknown> {
  key: string;
  ehr_subscription: string | null;
  kind: 'rest-hook-criteria' | 'backport-topic' | 'polling';
  criteria: string;
  secret: string | null;
  status: string;
  last_event_number: string | null;
  topic: string | null;
  heartbeat_period_s: number | null;
  events_since_start: string | null;
  /** Event numbers up to here are accounted for (migration 0009); gaps are looked for above it. */
  reconciled_through: string;
  last_heartbeat_at: Date | null;
  last_notification_at: Date | null;
  status_checked_at: Date | null;
  last_polled_at: Date | null;
  last_error: string | null;
  gaps_detected: string;
  events_recovered: string;
  created_at: Date;
}

/** What a notification or `$status` answer told us about a subscription. */
export interface SubscriptionStatusUpdate {
  status: string;
  /** The EHR's Subscription id, learnt from the notification when not known yet. */
  ehrSubscription?: string;
  eventsSinceStart?: number;
  /** Highest event number in this notification. */
  lastEventNumber?: number;
  heartbeat?: boolean;
  /** From a `$status` query rather than a notification. */
  statusCheck?: boolean;
  error?: string;
}

/**
 * SQL: record a status update. Counters only move forward for notifications (they may arrive
 * reordered); a `$status` answer (`statusCheck`) with a lower `events-since-subscription-start` is
 * the EHR's own word and resets them (Backport IG §Subscription status: the server is the source of
 * truth), so one bogus huge event number cannot pin the counter for good. `previous_events_since_start`
 * in the returned row says whether a reset happened.
 */
export function updateSubscriptionStatusSql(key: string, update: SubscriptionStatusUpdate): Sql {
  return {
    text: `UPDATE subscriptions s SET
             status = $2,
             ehr_subscription = COALESCE(s.ehr_subscription, $3),
             events_since_start = CASE WHEN $7 AND $4::bigint < s.events_since_start THEN $4::bigint
                                       ELSE GREATEST(s.events_since_start, $4::bigint) END,
             last_event_number = CASE WHEN $7 AND $4::bigint < s.last_event_number THEN $4::bigint
                                      ELSE GREATEST(s.last_event_number, $5::bigint) END,
             reconciled_through = CASE WHEN $7 AND $4::bigint < s.reconciled_through THEN $4::bigint
                                       ELSE s.reconciled_through END,
             last_heartbeat_at = CASE WHEN $6 THEN now() ELSE last_heartbeat_at END,
             last_notification_at = CASE WHEN $7 THEN last_notification_at ELSE now() END,
             status_checked_at = CASE WHEN $7 THEN now() ELSE status_checked_at END,
             last_error = CASE WHEN $2 IN ('error', 'off') THEN COALESCE($8, s.last_error, $2) ELSE NULL END
           FROM (SELECT key, events_since_start AS previous_events_since_start FROM subscriptions WHERE key = $1 FOR UPDATE) old
           WHERE s.key = old.key
           RETURNING s.*, old.previous_events_since_start`,
    values: [
      key,
      update.status,
      update.ehrSubscription ?? null,
      update.eventsSinceStart ?? null,
      update.lastEventNumber ?? null,
      update.heartbeat === true,
      update.statusCheck === true,
      update.error ?? null,
    ],
  };
}

/** Records a status update; returns the updated row. */
export async function updateSubscriptionStatus(
  db: Queryable,
  key: string,
  update: SubscriptionStatusUpdate,
): Promise<SubscriptionRow | undefined> {
  return (await run<SubscriptionRow>(db, updateSubscriptionStatusSql(key, update)))[0];
}

/**
 * Event numbers in `from+1..upTo` with no inbox row for this subscription (Backport IG §Detecting
 * errors: a gap in `event-number` / `events-since-subscription-start` means missed events), lowest
 * first. The caller bounds `upTo - from` (SUBSCRIPTION_EVENT_GAP_WINDOW): the series is never
 * longer than that, whatever the event numbers are.
 */
export async function missingEventNumbers(db: Queryable, key: string, from: number, upTo: number): Promise<number[]> {
  const rows = await run<{ n: string }>(db, {
    text: `SELECT n FROM generate_series($2::bigint + 1, $3::bigint) AS n
           WHERE NOT EXISTS (SELECT 1 FROM notification_inbox i WHERE i.subscription = $1 AND i.event_number = n)
           ORDER BY n`,
    values: [key, from, upTo],
  });
  return rows.map((r) => Number(r.n));
}

/** Records that every event number up to `through` is accounted for (never moves back here). */
export async function setReconciledThrough(db: Queryable, key: string, through: number): Promise<void> {
  await db.query('UPDATE subscriptions SET reconciled_through = GREATEST(reconciled_through, $2::bigint) WHERE key = $1', [key, through]);
}

/** Adds to the gap and recovery counters shown by `fhir-fusion subscriptions status`. */
export async function countRecovery(db: Queryable, key: string, gaps: number, recovered: number): Promise<void> {
  await db.query('UPDATE subscriptions SET gaps_detected = gaps_detected + $2, events_recovered = events_recovered + $3 WHERE key = $1', [
    key,
    gaps,
    recovered,
  ]);
}

/** Moves the `_lastUpdated` high-water mark forward. */
export async function setPolledAt(db: Queryable, key: string, at: Date): Promise<void> {
  await db.query('UPDATE subscriptions SET last_polled_at = GREATEST(last_polled_at, $2) WHERE key = $1', [key, at]);
}

/** SQL: one subscription by key. */
export function selectSubscriptionSql(key: string): Sql {
  return { text: 'SELECT * FROM subscriptions WHERE key = $1', values: [key] };
}

/** SQL: insert or update a subscription, keeping its event counter. */
export function upsertSubscriptionSql(row: {
  key: string;
  ehrSubscription?: string;
  kind: SubscriptionRow['kind'];
  criteria: string;
  secret: string;
  status: string;
  topic?: string;
  heartbeatPeriodS?: number;
}): Sql {
  return {
    text: `INSERT INTO subscriptions (key, ehr_subscription, kind, criteria, secret, status, topic, heartbeat_period_s)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (key) DO UPDATE SET ehr_subscription = COALESCE(EXCLUDED.ehr_subscription, subscriptions.ehr_subscription),
             kind = EXCLUDED.kind, criteria = EXCLUDED.criteria, secret = EXCLUDED.secret,
             status = CASE WHEN subscriptions.status = 'active' AND EXCLUDED.status = 'requested' THEN 'active' ELSE EXCLUDED.status END,
             topic = EXCLUDED.topic, heartbeat_period_s = EXCLUDED.heartbeat_period_s
           RETURNING *`,
    values: [row.key, row.ehrSubscription ?? null, row.kind, row.criteria, row.secret, row.status, row.topic ?? null, row.heartbeatPeriodS ?? null],
  };
}

/** Loads a subscription by key, or undefined. */
export async function findSubscription(db: Queryable, key: string): Promise<SubscriptionRow | undefined> {
  const rows = await run<SubscriptionRow>(db, selectSubscriptionSql(key));
  return rows[0];
}

/** Lists every subscription. */
export async function listSubscriptions(db: Queryable): Promise<SubscriptionRow[]> {
  return run<SubscriptionRow>(db, { text: 'SELECT * FROM subscriptions ORDER BY key', values: [] });
}
