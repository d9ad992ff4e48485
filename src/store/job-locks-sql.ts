import type { Sql } from './sql.js';

/*
 * SQL of the job queue's liveness locks and orphan sweep (#22: all SQL in store/). Each running
 * job holds a session-level advisory lock keyed by its id on a connection of its own, so Postgres
 * releases it when the worker's connection dies (PostgreSQL §9.27.10 advisory lock functions).
 */

/** Takes the advisory lock of a running job (blocks until free). */
export function lockJobSql(jobId: string): Sql {
  return { text: 'SELECT pg_advisory_lock(hashtextextended($1, 0))', values: [jobId] };
}

/** Releases the advisory lock of a job. */
export function unlockJobSql(jobId: string): Sql {
  return { text: 'SELECT pg_advisory_unlock(hashtextextended($1, 0))', values: [jobId] };
}

/** Tries the advisory lock of a job without waiting; the row's `free` says whether it was taken. */
export function tryLockJobSql(jobId: string): Sql {
  return { text: 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS free', values: [jobId] };
}

/**
 * Active jobs of `queues` started more than `minAgeSeconds` ago. Reads pg-boss's own `pgboss.job`
 * table (pg-boss 10.x schema), which has no public API for "active jobs older than": pinned with
 * the pg-boss version in package.json.
 */
export function staleActiveJobsSql(queues: readonly string[], minAgeSeconds: number): Sql {
  return {
    text: `SELECT id::text, name FROM pgboss.job WHERE name = ANY($1::text[]) AND state = 'active'
             AND started_on < now() - make_interval(secs => $2::double precision)`,
    values: [queues, minAgeSeconds],
  };
}

/**
 * Key of the session advisory lock held while pg-boss installs its schema and our queues are
 * created ("fhirboss" as a big-endian int8). pg-boss 10 creates its schema without a lock of its
 * own, so two processes starting at once on a fresh database deadlock on its DDL.
 */
export const QUEUE_SETUP_LOCK_KEY = '7379263929445217139';

/** Takes the queue set-up lock (blocks until free). */
export function lockQueueSetupSql(): Sql {
  return { text: 'SELECT pg_advisory_lock($1::bigint)', values: [QUEUE_SETUP_LOCK_KEY] };
}

/** Releases the queue set-up lock. */
export function unlockQueueSetupSql(): Sql {
  return { text: 'SELECT pg_advisory_unlock($1::bigint)', values: [QUEUE_SETUP_LOCK_KEY] };
}
