import type { Queryable, Sql } from './sql.js';
import { run } from './sql.js';

/** A subscription fhir-fusion holds on an EHR (the key is part of the notification URL). */
export interface SubscriptionRow extends Record<string, unknown> {
  key: string;
  ehr_subscription: string | null;
  kind: 'rest-hook-criteria' | 'backport-topic';
  criteria: string;
  secret: string | null;
  status: string;
  last_event_number: string | null;
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
}): Sql {
  return {
    text: `INSERT INTO subscriptions (key, ehr_subscription, kind, criteria, secret, status)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (key) DO UPDATE SET ehr_subscription = EXCLUDED.ehr_subscription, kind = EXCLUDED.kind,
             criteria = EXCLUDED.criteria, secret = EXCLUDED.secret, status = EXCLUDED.status
           RETURNING *`,
    values: [row.key, row.ehrSubscription ?? null, row.kind, row.criteria, row.secret, row.status],
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
