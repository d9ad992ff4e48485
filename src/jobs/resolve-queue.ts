import type { PoolClient } from 'pg';
import type { ClaimedJob, PgBossQueues, QueuePolicy } from './pg-boss-queues.js';

/** Queue name of per-subscription resolve jobs (pings, empty/id-only events, gaps, polling). */
export const RESOLVE_QUEUE = 'resolve-notifications';

/** Resolve job data: the subscription key whose unresolved inbox rows and gaps to work on. */
export interface ResolveJobData {
  subscription: string;
  traceId: string;
}

/** A claimed resolve job. */
export type ResolveJob = ClaimedJob<ResolveJobData>;

/** The per-subscription resolve queue over the shared pg-boss instance. */
export interface ResolveQueue {
  /** Creates or updates the queue with its policy. */
  setUp(): Promise<void>;
  /** Enqueues inside the caller's transaction; false when one already waits for the subscription. */
  enqueue(client: PoolClient, data: ResolveJobData): Promise<boolean>;
  /** Starts one poller running `handler`. */
  work(handler: (job: ResolveJob) => Promise<void>): Promise<void>;
}

/** Jobs are coalesced per subscription (`singletonKey`), like assessments per patient. */
export function createResolveQueue(queues: PgBossQueues, policy: QueuePolicy): ResolveQueue {
  return {
    setUp: () => queues.ensureQueue(RESOLVE_QUEUE, policy),
    enqueue: (client, data) => queues.send(client, RESOLVE_QUEUE, data, { singletonKey: data.subscription }),
    work: (handler) => queues.work<ResolveJobData>(RESOLVE_QUEUE, handler),
  };
}
