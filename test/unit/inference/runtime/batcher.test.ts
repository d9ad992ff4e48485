import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDynamicBatcher } from '../../../../src/inference/runtime/batcher.js';
import { InferenceEngineClosed, InferenceQueueFull } from '../../../../src/inference/runtime/inference-errors.js';

/** An execute function whose batches finish only when the test releases them. */
function controlledExecutor() {
  const batches: Array<{ group: string; requests: number[]; release: () => void }> = [];
  const execute = (group: string, requests: number[]): Promise<number[]> =>
    new Promise((resolve) =>
      batches.push({ group, requests, release: () => resolve(requests.map((r) => r * 10)) }),
    );
  return { batches, execute };
}

const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('createDynamicBatcher', () => {
  it('gathers requests that arrive within the queue delay into one batch and splits results back', async () => {
    const { batches, execute } = controlledExecutor();
    const batcher = createDynamicBatcher<number, number>({
      maxBatchSize: 16,
      maxQueueDelayMs: 20,
      queueLimit: 100,
      concurrency: 1,
      rowsOf: () => 1,
      execute,
    });
    const results = [1, 2, 3, 4, 5].map((n) => batcher.submit('m', n));
    expect(batches).toHaveLength(0);
    await tick(40);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.requests).toEqual([1, 2, 3, 4, 5]);
    batches[0]!.release();
    expect(await Promise.all(results)).toEqual([10, 20, 30, 40, 50]);
    expect(batcher.stats()).toEqual({ batches: 1, requests: 5, rows: 5 });
  });

  it('dispatches a full batch at once without waiting for the delay', async () => {
    const { batches, execute } = controlledExecutor();
    const batcher = createDynamicBatcher<number, number>({
      maxBatchSize: 4,
      maxQueueDelayMs: 60_000,
      queueLimit: 100,
      concurrency: 2,
      rowsOf: () => 2,
      execute,
    });
    void batcher.submit('m', 1);
    expect(batches).toHaveLength(0);
    void batcher.submit('m', 2);
    expect(batches.map((b) => b.requests)).toEqual([[1, 2]]);
    batches[0]!.release();
    await batcher.drain();
  });

  it('keeps separate groups apart', async () => {
    const { batches, execute } = controlledExecutor();
    const batcher = createDynamicBatcher<number, number>({
      maxBatchSize: 8,
      maxQueueDelayMs: 5,
      queueLimit: 100,
      concurrency: 4,
      rowsOf: () => 1,
      execute,
    });
    const all = [batcher.submit('a', 1), batcher.submit('b', 2), batcher.submit('a', 3)];
    await tick(20);
    expect(batches.map((b) => [b.group, b.requests])).toEqual([
      ['a', [1, 3]],
      ['b', [2]],
    ]);
    batches.forEach((b) => b.release());
    expect(await Promise.all(all)).toEqual([10, 20, 30]);
  });

  it('lets batches grow while every slot is busy', async () => {
    const { batches, execute } = controlledExecutor();
    const batcher = createDynamicBatcher<number, number>({
      maxBatchSize: 64,
      maxQueueDelayMs: 0,
      queueLimit: 100,
      concurrency: 1,
      rowsOf: () => 1,
      execute,
    });
    const first = batcher.submit('m', 0);
    const rest = Array.from({ length: 9 }, (_, i) => batcher.submit('m', i + 1));
    expect(batches).toHaveLength(1);
    batches[0]!.release();
    await first;
    await tick();
    expect(batches).toHaveLength(2);
    expect(batches[1]!.requests).toHaveLength(9);
    batches[1]!.release();
    await Promise.all(rest);
  });

  it('refuses requests beyond the queue limit with InferenceQueueFull, and takes them again once drained', async () => {
    const { batches, execute } = controlledExecutor();
    const batcher = createDynamicBatcher<number, number>({
      maxBatchSize: 100,
      maxQueueDelayMs: 10_000,
      queueLimit: 3,
      concurrency: 1,
      rowsOf: () => 1,
      execute,
    });
    const accepted = [1, 2, 3].map((n) => batcher.submit('m', n));
    await expect(batcher.submit('m', 4)).rejects.toBeInstanceOf(InferenceQueueFull);
    expect(batcher.waiting()).toBe(3);
    const drained = batcher.drain();
    await tick();
    batches[0]!.release();
    await drained;
    expect(await Promise.all(accepted)).toEqual([10, 20, 30]);
  });

  it('drain runs queued work without waiting for the delay, finishes in-flight batches and refuses new work', async () => {
    const { batches, execute } = controlledExecutor();
    const batcher = createDynamicBatcher<number, number>({
      maxBatchSize: 2,
      maxQueueDelayMs: 60_000,
      queueLimit: 100,
      concurrency: 1,
      rowsOf: () => 1,
      execute,
    });
    const results = [1, 2, 3].map((n) => batcher.submit('m', n));
    expect(batches).toHaveLength(1); // [1, 2] is full
    let drained = false;
    const draining = batcher.drain().then(() => (drained = true));
    await expect(batcher.submit('m', 9)).rejects.toBeInstanceOf(InferenceEngineClosed);
    batches[0]!.release();
    await tick();
    expect(batches).toHaveLength(2);
    expect(drained).toBe(false);
    batches[1]!.release();
    await draining;
    expect(await Promise.all(results)).toEqual([10, 20, 30]);
  });

  it('rejects every request of a failed batch with the error, and keeps serving', async () => {
    let calls = 0;
    const batcher = createDynamicBatcher<number, number>({
      maxBatchSize: 8,
      maxQueueDelayMs: 1,
      queueLimit: 10,
      concurrency: 1,
      rowsOf: () => 1,
      execute: async (_g, requests) => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return requests;
      },
    });
    const failed = [batcher.submit('m', 1), batcher.submit('m', 2)];
    await Promise.all(failed.map((p) => expect(p).rejects.toThrow('boom')));
    await expect(batcher.submit('m', 3)).resolves.toBe(3);
  });

  it('runs a request larger than maxBatchSize alone rather than starving it', async () => {
    const sizes: number[] = [];
    const batcher = createDynamicBatcher<number, number>({
      maxBatchSize: 4,
      maxQueueDelayMs: 1,
      queueLimit: 10,
      concurrency: 1,
      rowsOf: (r) => r,
      execute: async (_g, requests) => {
        sizes.push(requests.length);
        return requests;
      },
    });
    expect(await Promise.all([batcher.submit('m', 9), batcher.submit('m', 1)])).toEqual([9, 1]);
    expect(sizes).toEqual([1, 1]);
  });

  it('never mixes results up between requests, whatever the arrival pattern, sizes and groups', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            group: fc.constantFrom('a', 'b', 'c'),
            rows: fc.integer({ min: 1, max: 5 }),
            gapMs: fc.constantFrom(0, 0, 0, 1, 3),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 3 }),
        async (arrivals, maxBatchSize, concurrency) => {
          const seen: Array<{ group: string; rows: number }> = [];
          const batcher = createDynamicBatcher<{ id: number; group: string; rows: number }, number>({
            maxBatchSize,
            maxQueueDelayMs: 2,
            queueLimit: 1000,
            concurrency,
            rowsOf: (r) => r.rows,
            execute: async (group, requests) => {
              await tick(Math.random() * 3);
              expect(requests.every((r) => r.group === group)).toBe(true);
              seen.push({ group, rows: requests.reduce((n, r) => n + r.rows, 0) });
              if (requests.length > 1) expect(seen[seen.length - 1]!.rows).toBeLessThanOrEqual(maxBatchSize);
              return requests.map((r) => r.id * 3 + 1);
            },
          });
          const pending: Array<Promise<number>> = [];
          for (const [id, a] of arrivals.entries()) {
            pending.push(batcher.submit(a.group, { id, group: a.group, rows: a.rows }));
            if (a.gapMs) await tick(a.gapMs);
          }
          const results = await Promise.all(pending);
          expect(results).toEqual(arrivals.map((_, id) => id * 3 + 1));
          expect(batcher.stats().requests).toBe(arrivals.length);
          await batcher.drain();
        },
      ),
      { numRuns: 40 },
    );
  });
});
