import type { ClaimedJob, PgBossQueues, QueuePolicy } from './pg-boss-queues.js';
import { createCoalescingQueue, type CoalescingQueue } from './coalescing-queue.js';

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

/**
 * Jobs are coalesced per patient (`singletonKey`) and start `coalesceWindowMs` after the first
 * notification, so the notifications of one patient within the window are assessed together.
 */
export function createAssessQueue(
  queues: PgBossQueues,
  policy: QueuePolicy,
  coalesceWindowMs: number,
): CoalescingQueue<AssessJobData> {
  return createCoalescingQueue<AssessJobData>(queues, policy, {
    name: ASSESS_QUEUE,
    keyOf: (data) => data.patientId,
    startAfterSeconds: Math.ceil(coalesceWindowMs / 1000),
  });
}
