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
