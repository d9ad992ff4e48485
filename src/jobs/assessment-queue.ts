import PgBoss from 'pg-boss';
import pg from 'pg';
import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import { lockJobSql, staleActiveJobsSql, tryLockJobSql, unlockJobSql } from '../store/job-locks-sql.js';
import { run as runSql } from '../store/sql.js';

/** Queue name of per-patient assessment jobs. */
export const ASSESS_QUEUE = 'assess-patient';

/** Queue name of per-subscription resolve jobs (pings, empty/id-only events, gaps, polling). */
export const RESOLVE_QUEUE = 'resolve-notifications';

/** Resolve job data: the subscription key whose unresolved inbox rows and gaps to work on. */
export interface ResolveJobData {
  subscription: string;
  traceId: string;
}

/** A claimed resolve job. */
export interface ResolveJob {
  id: string;
  data: ResolveJobData;
  retryCount: number;
  retryLimit: number;
}

/**
 * Job data: ids and a trace id, never resources (the worker re-reads the EHR, so a stale or
 * duplicated job is harmless).
 */
export interface AssessJobData {
  patientId: string;
  traceId: string;
}

/** A claimed job as the handler sees it. */
export interface AssessJob {
  id: string;
  data: AssessJobData;
  retryCount: number;
  retryLimit: number;
}

/** Retry and coalescing policy. */
export interface QueueOptions {
  databaseUrl: string;
  logger: Logger;
  /** Attempts after the first; exponential backoff from `retryDelaySeconds`. */
  retryLimit: number;
  retryDelaySeconds: number;
  /** Notifications for one patient within this window are assessed together. */
  coalesceWindowMs: number;
  /** A claimed job not finished within this time (worker died) is retried. */
  expireInSeconds?: number;
  /** How often expired jobs are swept (pg-boss maintenance; one process per interval does it). */
  maintenanceIntervalSeconds?: number;
}

/** The durable per-patient job queue (pg-boss on the same Postgres). */
export interface AssessmentQueue {
  start(): Promise<void>;
  /**
   * Enqueues an assessment inside the caller's transaction, so the inbox row and its job commit
   * together. Returns false when a job for that patient is already waiting (coalesced).
   */
  enqueue(client: PoolClient, data: AssessJobData): Promise<boolean>;
  /**
   * Enqueues a resolve job for a subscription inside the caller's transaction (coalesced per
   * subscription like assessments per patient). Returns false when one is already waiting.
   */
  enqueueResolve(client: PoolClient, data: ResolveJobData): Promise<boolean>;
  /** Starts one poller of resolve jobs; a throw retries with backoff. */
  workResolve(handler: (job: ResolveJob) => Promise<void>): Promise<void>;
  /** Starts `concurrency` pollers running `handler`; a throw retries the job with backoff. */
  work(concurrency: number, handler: (job: AssessJob) => Promise<void>): Promise<void>;
  /** Stops taking work and waits (up to `timeoutMs`) for in-flight jobs. */
  stop(timeoutMs: number): Promise<void>;
  /** Counts of jobs by state. */
  counts(): Promise<Record<string, number>>;
  /**
   * Fails (→ retry) active jobs whose worker died (`kill -9`, lost host): each running job holds a
   * session advisory lock that Postgres releases when the worker's connection dies, so a job
   * started over `minAgeSeconds` ago whose lock can be taken has no live worker. Returns how many.
   */
  reclaimOrphans(minAgeSeconds: number): Promise<number>;
}

/**
 * Creates the queue. The `stately` policy allows one queued and one active job per patient
 * (`singletonKey`): a burst of notifications coalesces into one waiting job, and a notification
 * arriving while the patient is being assessed still gets one follow-up run.
 */
export function createAssessmentQueue(options: QueueOptions): AssessmentQueue {
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    schema: 'pgboss',
    max: 4,
    supervise: true,
    maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 60,
    schedule: false,
    application_name: 'fhir-fusion-queue',
  });
  boss.on('error', (err: Error) => options.logger.error({ err: { message: err.message } }, 'job queue error'));
  const workerIds: string[] = [];
  // Connections that hold one advisory lock per running job (released by Postgres if we die).
  const locks = new pg.Pool({ connectionString: options.databaseUrl, max: 8, application_name: 'fhir-fusion-job-locks' });
  locks.on('error', () => undefined);
  async function locked<T>(jobId: string, run: () => Promise<T>): Promise<T> {
    const client = await locks.connect();
    try {
      await runSql(client, lockJobSql(jobId));
      try {
        return await run();
      } finally {
        await runSql(client, unlockJobSql(jobId)).catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }

  return {
    async start() {
      await boss.start();
      const existing = await boss.getQueue(ASSESS_QUEUE);
      const queue = {
        name: ASSESS_QUEUE,
        policy: 'stately' as const,
        retryLimit: options.retryLimit,
        retryDelay: options.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: options.expireInSeconds ?? 300,
      };
      if (existing) await boss.updateQueue(ASSESS_QUEUE, queue);
      else await boss.createQueue(ASSESS_QUEUE, queue);
      const resolve = { ...queue, name: RESOLVE_QUEUE };
      if (await boss.getQueue(RESOLVE_QUEUE)) await boss.updateQueue(RESOLVE_QUEUE, resolve);
      else await boss.createQueue(RESOLVE_QUEUE, resolve);
    },
    async enqueueResolve(client, data) {
      const db = { executeSql: async (text: string, values: unknown[]) => client.query(text, values) };
      const id = await boss.send(RESOLVE_QUEUE, data, { singletonKey: data.subscription, db });
      return id !== null;
    },
    async workResolve(handler) {
      const id = await boss.work<ResolveJobData>(
        RESOLVE_QUEUE,
        { pollingIntervalSeconds: 0.5, batchSize: 1, includeMetadata: true },
        async (jobs) => {
          for (const job of jobs) {
            await locked(job.id, () => handler({ id: job.id, data: job.data, retryCount: job.retryCount, retryLimit: job.retryLimit }));
          }
        },
      );
      workerIds.push(id);
    },
    async reclaimOrphans(minAgeSeconds) {
      const client = await locks.connect();
      let reclaimed = 0;
      try {
        const rows = await runSql<{ id: string; name: string }>(client, staleActiveJobsSql([ASSESS_QUEUE, RESOLVE_QUEUE], minAgeSeconds));
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
    async enqueue(client, data) {
      const db = {
        executeSql: async (text: string, values: unknown[]) => client.query(text, values),
      };
      const id = await boss.send(ASSESS_QUEUE, data, {
        singletonKey: data.patientId,
        startAfter: Math.ceil(options.coalesceWindowMs / 1000),
        db,
      });
      return id !== null;
    },
    async work(concurrency, handler) {
      for (let i = 0; i < concurrency; i++) {
        const id = await boss.work<AssessJobData>(
          ASSESS_QUEUE,
          { pollingIntervalSeconds: 0.5, batchSize: 1, includeMetadata: true },
          async (jobs) => {
            for (const job of jobs) {
              await locked(job.id, () => handler({ id: job.id, data: job.data, retryCount: job.retryCount, retryLimit: job.retryLimit }));
            }
          },
        );
        workerIds.push(id);
      }
    },
    async stop(timeoutMs) {
      await boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
      await locks.end().catch(() => undefined);
    },
    async counts() {
      const queue = await boss.getQueue(ASSESS_QUEUE);
      const size = queue ? await boss.getQueueSize(ASSESS_QUEUE) : 0;
      return { queued: size };
    },
  };
}
