import type { PoolClient } from 'pg';
import type { ClaimedJob, PgBossQueues, QueuePolicy } from './pg-boss-queues.js';

/**
 * One named queue over the shared pg-boss instance whose jobs coalesce on a key (pg-boss
 * `singletonKey` under the `stately` policy): the assessment queue per patient, the resolve queue
 * per subscription. Each queue is only its name, its data type, its key and its start delay.
 */
export interface CoalescingQueue<T extends object> {
  readonly name: string;
  /** Creates or updates the queue with its policy. */
  setUp(): Promise<void>;
  /** Enqueues inside the caller's transaction; false when a job with the same key already waits. */
  enqueue(client: PoolClient, data: T): Promise<boolean>;
  /** Starts `concurrency` pollers running `handler`; a throw retries the job with backoff. */
  work(concurrency: number, handler: (job: ClaimedJob<T>) => Promise<void>): Promise<void>;
  /** Jobs waiting. */
  size(): Promise<number>;
}

/** What distinguishes one coalescing queue from another. */
export interface CoalescingQueueSpec<T> {
  name: string;
  /** The coalescing key of a job (the patient, the subscription). */
  keyOf: (data: T) => string;
  /** Delay before a job may start, so arrivals within it join the waiting job. */
  startAfterSeconds?: number;
}

/** Creates a {@link CoalescingQueue} over `queues`. */
export function createCoalescingQueue<T extends object>(
  queues: PgBossQueues,
  policy: QueuePolicy,
  spec: CoalescingQueueSpec<T>,
): CoalescingQueue<T> {
  const { name, keyOf, startAfterSeconds } = spec;
  return {
    name,
    setUp: () => queues.ensureQueue(name, policy),
    enqueue: (client, data) =>
      queues.send(client, name, data, {
        singletonKey: keyOf(data),
        ...(startAfterSeconds === undefined ? {} : { startAfterSeconds }),
      }),
    async work(concurrency, handler) {
      for (let i = 0; i < concurrency; i++) await queues.work<T>(name, handler);
    },
    size: () => queues.size(name),
  };
}
