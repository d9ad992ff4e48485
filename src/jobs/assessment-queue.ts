import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import { ASSESS_QUEUE, type AssessJob, type AssessJobData } from './assess-queue.js';
import { createCoalescingQueue } from './coalescing-queue.js';
import { createPgBossQueues } from './pg-boss-queues.js';
import { RESOLVE_QUEUE, type ResolveJob, type ResolveJobData } from './resolve-queue.js';

/*
 * The server's two durable queues behind one interface: per-patient assessments (assess-queue.ts)
 * and per-subscription resolve jobs (resolve-queue.ts), over one pg-boss instance
 * (pg-boss-queues.ts) on the server's Postgres.
 */

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
 * Creates the queues. The `stately` policy allows one queued and one active job per patient
 * (`singletonKey`): a burst of notifications coalesces into one waiting job, and a notification
 * arriving while the patient is being assessed still gets one follow-up run.
 */
export function createAssessmentQueue(options: QueueOptions): AssessmentQueue {
  const queues = createPgBossQueues(options);
  const policy = {
    retryLimit: options.retryLimit,
    retryDelaySeconds: options.retryDelaySeconds,
    expireInSeconds: options.expireInSeconds ?? 300,
  };
  // Assessments coalesce per patient and start `coalesceWindowMs` after the first notification, so
  // the notifications of one patient within the window are assessed together.
  const assess = createCoalescingQueue<AssessJobData>(queues, policy, {
    name: ASSESS_QUEUE,
    keyOf: (data) => data.patientId,
    startAfterSeconds: Math.ceil(options.coalesceWindowMs / 1000),
  });
  // Resolve jobs coalesce per subscription and start at once.
  const resolve = createCoalescingQueue<ResolveJobData>(queues, policy, {
    name: RESOLVE_QUEUE,
    keyOf: (data) => data.subscription,
  });
  return {
    async start() {
      await queues.start();
      await assess.setUp();
      await resolve.setUp();
    },
    enqueue: assess.enqueue,
    work: assess.work,
    enqueueResolve: resolve.enqueue,
    workResolve: (handler) => resolve.work(1, handler),
    reclaimOrphans: (minAgeSeconds) => queues.reclaimOrphans([assess.name, resolve.name], minAgeSeconds),
    stop: (timeoutMs) => queues.stop(timeoutMs),
    async counts() {
      return { queued: await assess.size() };
    },
  };
}
