import type { ClaimedJob, PgBossQueues, QueuePolicy } from './pg-boss-queues.js';
import { createCoalescingQueue, type CoalescingQueue } from './coalescing-queue.js';

/** Queue name of per-subscription resolve jobs (pings, empty/id-only events, gaps, polling). */
export const RESOLVE_QUEUE = 'resolve-notifications';

/** Resolve job data: the subscription key whose unresolved inbox rows and gaps to work on. */
export interface ResolveJobData {
  subscription: string;
  traceId: string;
}

/** A claimed resolve job. */
export type ResolveJob = ClaimedJob<ResolveJobData>;

/** Jobs are coalesced per subscription (`singletonKey`), like assessments per patient; they start at once. */
export function createResolveQueue(
  queues: PgBossQueues,
  policy: QueuePolicy,
): CoalescingQueue<ResolveJobData> {
  return createCoalescingQueue<ResolveJobData>(queues, policy, {
    name: RESOLVE_QUEUE,
    keyOf: (data) => data.subscription,
  });
}
