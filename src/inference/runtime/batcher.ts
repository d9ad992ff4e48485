import { InferenceEngineClosed, InferenceQueueFull } from './inference-errors.js';

/** Options for {@link createDynamicBatcher}. */
export interface DynamicBatcherOptions<Req, Res> {
  /** Most rows per batch; a single request larger than this still runs (alone). */
  maxBatchSize: number;
  /** How long the oldest request may wait for a batch to fill (Triton `max_queue_delay_microseconds`). */
  maxQueueDelayMs: number;
  /** Most requests waiting (not yet running) across all groups; beyond it `submit` rejects with {@link InferenceQueueFull}. */
  queueLimit: number;
  /** Batches running at once (usually the worker pool size). */
  concurrency: number;
  /** Rows a request occupies in a batch (1 + its explanation variants). */
  rowsOf: (request: Req) => number;
  /** Runs one batch of requests of the same group; must return one result per request, in order. */
  execute: (group: string, requests: Req[]) => Promise<Res[]>;
  /** Called when the number of waiting requests changes (for a queue-depth gauge). */
  onQueueDepth?: (depth: number) => void;
}

/** Counters for tests, benchmarks and logs. */
export interface BatcherStats {
  /** Batches executed. */
  batches: number;
  /** Requests completed (resolved or rejected). */
  requests: number;
  /** Rows executed. */
  rows: number;
}

/** Gathers requests into batches per group (model + row shape), Triton dynamic-batching style. */
export interface DynamicBatcher<Req, Res> {
  /** Queues a request; resolves with its own result once its batch has run. */
  submit(group: string, request: Req): Promise<Res>;
  /** Requests waiting (not running). */
  waiting(): number;
  /** Batches running. */
  running(): number;
  stats(): BatcherStats;
  /**
   * Stops taking requests (later `submit`s reject with {@link InferenceEngineClosed}), runs
   * everything already queued without waiting for batches to fill, and resolves when all finished.
   */
  drain(): Promise<void>;
}

interface Entry<Req, Res> {
  request: Req;
  rows: number;
  enqueuedAt: number;
  resolve: (result: Res) => void;
  reject: (error: unknown) => void;
}

interface GroupQueue<Req, Res> {
  group: string;
  entries: Array<Entry<Req, Res>>;
  rows: number;
  timer?: NodeJS.Timeout;
}

/**
 * Creates a dynamic batcher. A group's queue is dispatched as soon as it holds `maxBatchSize`
 * rows, or when its oldest request has waited `maxQueueDelayMs`, whichever comes first, and only
 * while fewer than `concurrency` batches run; when every worker is busy, requests keep gathering,
 * so batches grow with load (the behaviour Triton's dynamic batcher documents).
 */
export function createDynamicBatcher<Req, Res>(
  options: DynamicBatcherOptions<Req, Res>,
): DynamicBatcher<Req, Res> {
  const { maxBatchSize, maxQueueDelayMs, queueLimit, concurrency } = options;
  if (!(maxBatchSize >= 1) || !(queueLimit >= 1) || !(concurrency >= 1) || !(maxQueueDelayMs >= 0)) {
    throw new Error(
      'batcher needs maxBatchSize >= 1, queueLimit >= 1, concurrency >= 1, maxQueueDelayMs >= 0',
    );
  }
  const queues = new Map<string, GroupQueue<Req, Res>>();
  const stats: BatcherStats = { batches: 0, requests: 0, rows: 0 };
  let waiting = 0;
  let running = 0;
  let draining = false;
  const drainWaiters: Array<() => void> = [];

  const setWaiting = (n: number): void => {
    waiting = n;
    options.onQueueDepth?.(n);
  };

  const isDue = (q: GroupQueue<Req, Res>, now: number): boolean =>
    draining ||
    q.rows >= maxBatchSize ||
    (q.entries[0] !== undefined && now - q.entries[0].enqueuedAt >= maxQueueDelayMs);

  const armTimer = (q: GroupQueue<Req, Res>, now: number): void => {
    if (q.timer || q.entries.length === 0 || draining) return;
    const oldest = q.entries[0];
    const delay = oldest ? Math.max(0, oldest.enqueuedAt + maxQueueDelayMs - now) : 0;
    q.timer = setTimeout(() => {
      q.timer = undefined;
      pump();
    }, delay);
  };

  /** Takes up to maxBatchSize rows (at least one request) from the front of a queue. */
  const take = (q: GroupQueue<Req, Res>): Array<Entry<Req, Res>> => {
    const batch: Array<Entry<Req, Res>> = [];
    let rows = 0;
    while (q.entries.length > 0) {
      const next = q.entries[0];
      if (!next || (batch.length > 0 && rows + next.rows > maxBatchSize)) break;
      batch.push(next);
      rows += next.rows;
      q.entries.shift();
    }
    q.rows -= rows;
    return batch;
  };

  const run = (q: GroupQueue<Req, Res>, batch: Array<Entry<Req, Res>>): void => {
    running++;
    const rows = batch.reduce((n, e) => n + e.rows, 0);
    stats.batches++;
    stats.rows += rows;
    let outcome: Promise<Res[]>;
    try {
      outcome = options.execute(
        q.group,
        batch.map((e) => e.request),
      );
    } catch (error) {
      outcome = Promise.reject(error);
    }
    const settle = (settleOne: (e: Entry<Req, Res>, i: number) => void): void => {
      // Counters and capacity first, so callers awaiting a result see them updated.
      stats.requests += batch.length;
      running--;
      batch.forEach(settleOne);
      pump();
    };
    outcome.then(
      (results) => {
        if (results.length !== batch.length) {
          const error = new Error(`batch returned ${results.length} results for ${batch.length} requests`);
          settle((e) => e.reject(error));
        } else {
          settle((e, i) => e.resolve(results[i] as Res));
        }
      },
      (error: unknown) => settle((e) => e.reject(error)),
    );
  };

  /** Dispatches due batches, oldest group first, while there is capacity. */
  function pump(): void {
    const now = performance.now();
    const ordered = [...queues.values()].sort(
      (a, b) => (a.entries[0]?.enqueuedAt ?? Infinity) - (b.entries[0]?.enqueuedAt ?? Infinity),
    );
    for (const q of ordered) {
      while (running < concurrency && q.entries.length > 0 && isDue(q, now)) {
        const batch = take(q);
        setWaiting(waiting - batch.length);
        run(q, batch);
      }
      if (q.entries.length === 0) {
        if (q.timer) clearTimeout(q.timer);
        q.timer = undefined;
        queues.delete(q.group);
      } else if (!isDue(q, now)) {
        armTimer(q, now);
      }
    }
    if (draining && waiting === 0 && running === 0) drainWaiters.splice(0).forEach((resolve) => resolve());
  }

  return {
    submit(group, request) {
      if (draining) return Promise.reject(new InferenceEngineClosed());
      if (waiting >= queueLimit) return Promise.reject(new InferenceQueueFull(queueLimit));
      return new Promise<Res>((resolve, reject) => {
        let q = queues.get(group);
        if (!q) {
          q = { group, entries: [], rows: 0 };
          queues.set(group, q);
        }
        const rows = Math.max(1, options.rowsOf(request));
        q.entries.push({ request, rows, enqueuedAt: performance.now(), resolve, reject });
        q.rows += rows;
        setWaiting(waiting + 1);
        // Full batches go now; otherwise the delay timer (armed in pump) decides.
        pump();
      });
    },
    waiting: () => waiting,
    running: () => running,
    stats: () => ({ ...stats }),
    drain() {
      draining = true;
      for (const q of queues.values()) {
        if (q.timer) clearTimeout(q.timer);
        q.timer = undefined;
      }
      return new Promise<void>((resolve) => {
        drainWaiters.push(resolve);
        pump();
      });
    },
  };
}
