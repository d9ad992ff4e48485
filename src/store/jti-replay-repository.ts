import type { Queryable } from './sql.js';

/** Remembers JWT ids so a token is accepted once (RFC 7519 §4.1.7; CDS Hooks 2.0 §Trusting CDS Clients). */
export interface JtiReplayStore {
  /** True the first time `(iss, jti)` is seen; false for a replay. Kept until `expiresAt`. */
  remember(iss: string, jti: string, expiresAt: Date): Promise<boolean>;
}

/** How often (calls) expired ids are purged: cheap enough not to matter, often enough to stay small. */
const PURGE_EVERY = 200;

/**
 * A {@link JtiReplayStore} in Postgres (`cds_jwt_seen`, migration 0004), so replays are refused
 * across every instance behind a load balancer. The insert is the check: `ON CONFLICT DO NOTHING`
 * returns no row for an id already present, atomically.
 */
export function createPgJtiReplayStore(db: Queryable): JtiReplayStore {
  let calls = 0;
  return {
    async remember(iss, jti, expiresAt) {
      calls += 1;
      if (calls % PURGE_EVERY === 0) await db.query('DELETE FROM cds_jwt_seen WHERE expires_at < now()');
      const result = await db.query(
        'INSERT INTO cds_jwt_seen (iss, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT (iss, jti) DO NOTHING RETURNING jti',
        [iss, jti, expiresAt],
      );
      return result.rows.length === 1;
    },
  };
}
