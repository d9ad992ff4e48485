import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/test-database.js';

describe('test database harness', () => {
  it('gives each test file an empty database of its own', async () => {
    const db = await createTestDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query<{ n: string }>(
      "select count(*) as n from information_schema.tables where table_schema = 'public'",
    );
    await client.end();
    await db.drop();
    expect(Number(rows[0]?.n)).toBe(0);
  });
});
