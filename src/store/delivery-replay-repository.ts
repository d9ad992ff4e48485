import type { Queryable, Sql } from './sql.js';
import { run } from './sql.js';

/** SQL: whether `hash` was recorded for the subscription within the last `windowSeconds`. */
export function deliverySeenSql(subscription: string, hash: Buffer, windowSeconds: number): Sql {
  return {
    text: `SELECT 1 AS seen FROM intake_delivery_seen
           WHERE subscription = $1 AND body_sha256 = $2 AND seen_at > now() - make_interval(secs => $3)`,
    values: [subscription, hash, windowSeconds],
  };
}

/** SQL: record (or refresh) a delivery's hash for the subscription. */
export function rememberDeliverySql(subscription: string, hash: Buffer): Sql {
  return {
    text: `INSERT INTO intake_delivery_seen (subscription, body_sha256) VALUES ($1, $2)
           ON CONFLICT (subscription, body_sha256) DO UPDATE SET seen_at = now()`,
    values: [subscription, hash],
  };
}

/** SQL: forget hashes older than the window. */
export function purgeDeliveriesSql(windowSeconds: number): Sql {
  return { text: 'DELETE FROM intake_delivery_seen WHERE seen_at <= now() - make_interval(secs => $1)', values: [windowSeconds] };
}

/** Remembers authenticated deliveries per subscription for a window (migration 0009). */
export interface DeliveryReplayStore {
  /** True when the same bytes were delivered to this subscription within the window. */
  seen(subscription: string, hash: Buffer): Promise<boolean>;
  /** Records a delivery once it has been stored; purges expired hashes now and then. */
  remember(subscription: string, hash: Buffer): Promise<void>;
}

/** How often (calls to `remember`) expired hashes are purged. */
const PURGE_EVERY = 500;

/** A {@link DeliveryReplayStore} over Postgres. */
export function createDeliveryReplayStore(db: Queryable, windowSeconds: number): DeliveryReplayStore {
  let calls = 0;
  return {
    async seen(subscription, hash) {
      return (await run(db, deliverySeenSql(subscription, hash, windowSeconds))).length > 0;
    },
    async remember(subscription, hash) {
      await run(db, rememberDeliverySql(subscription, hash));
      if (++calls % PURGE_EVERY === 0) await run(db, purgeDeliveriesSql(windowSeconds));
    },
  };
}
