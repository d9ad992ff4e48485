import PgBoss from 'pg-boss';
import pg from 'pg';
import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import {
  lockJobSql,
  lockQueueSetupSql,
  staleActiveJobsSql,
  tryLockJobSql,
  unlockJobSql,
  unlockQueueSetupSql,
} from '../store/job-locks-sql.js';
import type { Sql } from '../store/sql.js';
import { run as runSql } from '../store/sql.js';

/** A claimed job as a handler sees it. */
export interface ClaimedJob<T> {
  id: string;
  data: T;
  retryCount: number;
  retryLimit: number;
}

/** Retry policy of one queue (pg-boss 10 `Queue` options). */
export interface QueuePolicy {
  retryLimit: number;
  retryDelaySeconds: number;
  expireInSeconds: number;
}

/** Connection settings of the shared pg-boss instance. */
export interface PgBossQueuesOptions {
  databaseUrl: string;
  logger: Logger;
  maintenanceIntervalSeconds?: number;
}

/**
 * The pg-boss machinery the server's queues share: one pg-boss instance (one connection pool,
 * one maintenance schedule) and the per-job liveness locks. Each queue (assess-queue.ts,
 * resolve-queue.ts) is a name, its data type and its send options over these primitives.
 */
export interface PgBossQueues {
  start(): Promise<void>;
  /**
   * Creates or updates `name` with the `stately` policy: one queued and one active job per
   * `singletonKey`, so a burst coalesces into one waiting job and an arrival during a run still
   * gets one follow-up run.
   */
  ensureQueue(name: string, policy: QueuePolicy): Promise<void>;
  /**
   * Sends a job inside the caller's transaction (pg-boss's `db` option runs its INSERT on the
   * caller's client), so the job commits with the caller's rows. False when coalesced.
   */
  send<T extends object>(
    client: PoolClient,
    name: string,
    data: T,
    options: { singletonKey: string; startAfterSeconds?: number },
  ): Promise<boolean>;
  /** Starts one poller of `name`; each job runs under its liveness lock; a throw retries it. */
  work<T extends object>(name: string, handler: (job: ClaimedJob<T>) => Promise<void>): Promise<void>;
  /** Fails (→ retry) active jobs of `names` whose worker died; see `AssessmentQueue.reclaimOrphans`. */
  reclaimOrphans(names: readonly string[], minAgeSeconds: number): Promise<number>;
  /** Jobs waiting in `name` (0 before the queue exists). */
  size(name: string): Promise<number>;
  /** Stops taking work and waits (up to `timeoutMs`) for in-flight jobs. */
  stop(timeoutMs: number): Promise<void>;
}

/** Opens the shared pg-boss instance (schema `pgboss`) and the lock connections; `start()` connects. */
export function createPgBossQueues(options: PgBossQueuesOptions): PgBossQueues {
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    schema: 'pgboss',
    max: 4,
    supervise: true,
    maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 60,
    schedule: false,
    application_name: 'fhir-fusion-queue',
  });
  boss.on('error', (err: Error) =>
    options.logger.error({ err: { message: err.message } }, 'job queue error'),
  );
  // Connections that hold one advisory lock per running job (released by Postgres if we die).
  const locks = new pg.Pool({
    connectionString: options.databaseUrl,
    max: 8,
    application_name: 'fhir-fusion-job-locks',
  });
  locks.on('error', () => undefined);
  /** Runs `run` while holding a session advisory lock on a connection of its own. */
  async function holding<T>(lock: Sql, unlock: Sql, run: () => Promise<T>): Promise<T> {
    const client = await locks.connect();
    try {
      await runSql(client, lock);
      try {
        return await run();
      } finally {
        await runSql(client, unlock).catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }
  const locked = <T>(jobId: string, run: () => Promise<T>): Promise<T> =>
    holding(lockJobSql(jobId), unlockJobSql(jobId), run);
  // pg-boss installs its schema and we create queues without any lock of pg-boss's own, so an
  // intake and a worker starting together on a fresh database deadlock on its DDL; one process
  // at a time does set-up, under a session advisory lock (released by Postgres if we die).
  const settingUp = <T>(run: () => Promise<T>): Promise<T> =>
    holding(lockQueueSetupSql(), unlockQueueSetupSql(), run);

  return {
    async start() {
      await settingUp(() => boss.start());
    },
    ensureQueue: (name, policy) =>
      settingUp(async () => {
        const queue = {
          name,
          policy: 'stately' as const,
          retryLimit: policy.retryLimit,
          retryDelay: policy.retryDelaySeconds,
          retryBackoff: true,
          expireInSeconds: policy.expireInSeconds,
        };
        if (await boss.getQueue(name)) await boss.updateQueue(name, queue);
        else await boss.createQueue(name, queue);
      }),
    async send(client, name, data, sendOptions) {
      // pg-boss's own statement, run on the caller's client: a pass-through, not SQL of ours.
      const db = { executeSql: async (text: string, values: unknown[]) => client.query(text, values) };
      const id = await boss.send(name, data, {
        singletonKey: sendOptions.singletonKey,
        ...(sendOptions.startAfterSeconds !== undefined ? { startAfter: sendOptions.startAfterSeconds } : {}),
        db,
      });
      return id !== null;
    },
    async work<T extends object>(name: string, handler: (job: ClaimedJob<T>) => Promise<void>) {
      await boss.work<T>(
        name,
        { pollingIntervalSeconds: 0.5, batchSize: 1, includeMetadata: true },
        async (jobs) => {
          for (const job of jobs) {
            await locked(job.id, () =>
              handler({ id: job.id, data: job.data, retryCount: job.retryCount, retryLimit: job.retryLimit }),
            );
          }
        },
      );
    },
    async reclaimOrphans(names, minAgeSeconds) {
      const client = await locks.connect();
      let reclaimed = 0;
      try {
        const rows = await runSql<{ id: string; name: string }>(
          client,
          staleActiveJobsSql(names, minAgeSeconds),
        );
        for (const row of rows) {
          const got = await runSql<{ free: boolean }>(client, tryLockJobSql(row.id));
          if (!got[0]?.free) continue;
          await runSql(client, unlockJobSql(row.id));
          await boss.fail(row.name, row.id, { message: 'worker died while running the job' });
          reclaimed++;
        }
      } finally {
        client.release();
      }
      return reclaimed;
    },
    async size(name) {
      return (await boss.getQueue(name)) ? boss.getQueueSize(name) : 0;
    },
    async stop(timeoutMs) {
      await boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
      await locks.end().catch(() => undefined);
    },
  };
}
