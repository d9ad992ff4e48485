import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` inside one transaction on a client of its own (PostgreSQL 16 §3.4): COMMIT when it
 * resolves, ROLLBACK when it throws (the error is rethrown; a failed ROLLBACK, e.g. on a broken
 * connection, does not mask it), and the client goes back to the pool either way.
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const value = await work(client);
    await client.query('COMMIT');
    return value;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
