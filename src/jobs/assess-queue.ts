import type { PoolClient } from 'pg';
import type { ClaimedJob, PgBossQueues, QueuePolicy } from './pg-boss-queues.js';

/** Queue name of per-patient assessment jobs. */
export const ASSESS_QUEUE = 'assess-patient';

/**
 * Job data: ids and a trace id, never resources (the worker re-reads the EHR, so a stale or
 * duplicated job is harmless).
 */
export interface AssessJobData {
  patientId: string;
  traceId: string;
}

/** A claimed assessment job as the handler sees it. */
export type AssessJob = ClaimedJob<AssessJobData>;

/** The per-patient assessment queue over the shared pg-boss instance. */
export interface AssessQueue {
  /** Creates or updates the queue with its policy. */
  setUp(): Promise<void>;
  /** Enqueues inside the caller's transaction; false when a job for the patient already waits. */
  enqueue(client: PoolClient, data: AssessJobData): Promise<boolean>;
  /** Starts `concurrency` pollers running `handler`. */
  work(concurrency: number, handler: (job: AssessJob) => Promise<void>): Promise<void>;
  /** Jobs waiting. */
  size(): Promise<number>;
}

/**
 * Jobs are coalesced per patient (`singletonKey`) and start `coalesceWindowMs` after the first
 * notification, so the notifications of one patient within the window are assessed together.
 */
export function createAssessQueue(queues: PgBossQueues, policy: QueuePolicy, coalesceWindowMs: number): AssessQueue {
  return {
    setUp: () => queues.ensureQueue(ASSESS_QUEUE, policy),
    enqueue: (client, data) =>
      queues.send(client, ASSESS_QUEUE, data, { singletonKey: data.patientId, startAfterSeconds: Math.ceil(coalesceWindowMs / 1000) }),
    async work(concurrency, handler) {
      for (let i = 0; i < concurrency; i++) await queues.work<AssessJobData>(ASSESS_QUEUE, handler);
    },
    size: () => queues.size(ASSESS_QUEUE),
  };
}
