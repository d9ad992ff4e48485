import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createAssessmentQueue } from '../../../src/jobs/assessment-queue.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

/**
 * An intake and a worker started at the same instant on a fresh database both install pg-boss's
 * schema and create the same queues. Before the start was serialised, one of them could fail with
 * `deadlock detected` or a duplicate-key error; several rounds of three processes' worth of queues
 * started together must all come up.
 */
describe('job queues started at the same instant on a fresh database', () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it('all start, every round', async () => {
    const logger = pino({ level: 'silent' });
    for (let round = 0; round < 4; round++) {
      const db = await createTestDatabase();
      databases.push(db);
      const queues = Array.from({ length: 3 }, () =>
        createAssessmentQueue({ databaseUrl: db.url, logger, retryLimit: 1, retryDelaySeconds: 1, coalesceWindowMs: 0 }),
      );
      try {
        const started = await Promise.allSettled(queues.map((q) => q.start()));
        const failures = started.flatMap((s) => (s.status === 'rejected' ? [String((s.reason as Error)?.message ?? s.reason)] : []));
        expect(failures, `round ${round}`).toEqual([]);
      } finally {
        await Promise.all(queues.map((q) => q.stop(1_000).catch(() => undefined)));
      }
    }
  }, 120_000);
});
