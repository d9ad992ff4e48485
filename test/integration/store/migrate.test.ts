import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observability/create-logger.js';
import { MigrationError, migrationChecksum, runMigrations } from '../../../src/store/migrate.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/test-database.js';

const logger = createLogger({ level: 'silent' });
let database: TestDatabase;
let pool: pg.Pool;
let dir: string;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = new pg.Pool({ connectionString: database.url, max: 4 });
});

afterAll(async () => {
  await pool.end();
  await database.drop();
});

/** Each test gets a fresh schema on the test database and a fresh migrations folder. */
beforeEach(async () => {
  await pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  dir = await mkdtemp(join(tmpdir(), 'ff-migrations-'));
  return () => rm(dir, { recursive: true, force: true });
});

async function write(name: string, sql: string): Promise<void> {
  await writeFile(join(dir, name), sql);
}

async function migrationError(run: Promise<unknown>): Promise<MigrationError> {
  const error = await run.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(MigrationError);
  return error as MigrationError;
}

describe('runMigrations', () => {
  it('applies files in numeric order once, recording name and checksum', async () => {
    await write('0002_add_column.sql', 'ALTER TABLE widget ADD COLUMN colour text;');
    await write(
      '0001_create.sql',
      'CREATE TABLE widget (id int PRIMARY KEY);\nINSERT INTO widget VALUES (1);',
    );
    await write('README.md', 'not a migration');
    expect(await runMigrations(pool, dir, logger)).toEqual({
      applied: ['0001_create.sql', '0002_add_column.sql'],
    });
    expect(await runMigrations(pool, dir, logger)).toEqual({ applied: [] });

    const { rows } = await pool.query<{ name: string; checksum: string; applied_at: Date }>(
      'SELECT name, checksum, applied_at FROM schema_migrations ORDER BY name',
    );
    expect(rows.map((row) => row.name)).toEqual(['0001_create.sql', '0002_add_column.sql']);
    expect(rows[1]?.checksum).toBe(migrationChecksum('ALTER TABLE widget ADD COLUMN colour text;'));
    expect(rows[0]?.applied_at).toBeInstanceOf(Date);

    await write('0003_more.sql', "UPDATE widget SET colour = 'red';");
    expect(await runMigrations(pool, dir, logger)).toEqual({ applied: ['0003_more.sql'] });
    expect((await pool.query('SELECT colour FROM widget')).rows).toEqual([{ colour: 'red' }]);
  });

  it('applies each file exactly once when two runners start at the same time', async () => {
    // Not idempotent on purpose: a second application would fail (duplicate table) or double the rows.
    await write('0001_create.sql', 'CREATE TABLE applied (file text NOT NULL);');
    await write('0002_slow.sql', "SELECT pg_sleep(0.3); INSERT INTO applied VALUES ('0002');");
    await write('0003_again.sql', "INSERT INTO applied VALUES ('0003');");
    const otherProcess = new pg.Pool({ connectionString: database.url, max: 2 });
    try {
      const [first, second] = await Promise.all([
        runMigrations(pool, dir, logger),
        runMigrations(otherProcess, dir, logger),
      ]);
      const all = [...first.applied, ...second.applied].sort();
      expect(all).toEqual(['0001_create.sql', '0002_slow.sql', '0003_again.sql']);
      // The lock is held for the whole run, so one runner did everything and the other nothing.
      expect([first.applied.length, second.applied.length].sort()).toEqual([0, 3]);
    } finally {
      await otherProcess.end();
    }
    const { rows } = await pool.query<{ file: string }>('SELECT file FROM applied ORDER BY file');
    expect(rows).toEqual([{ file: '0002' }, { file: '0003' }]);
    // pg_locks is cluster-wide: only this database's advisory locks are ours.
    const locks = await pool.query(
      "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    expect(locks.rowCount).toBe(0);
  });

  it('rolls a failing migration back entirely and names the file and line', async () => {
    await write('0001_ok.sql', 'CREATE TABLE kept (id int);');
    await write(
      '0002_broken.sql',
      'CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\nSELEC broken;\n',
    );
    await write('0003_never.sql', 'CREATE TABLE never (id int);');
    const error = await migrationError(runMigrations(pool, dir, logger));
    expect(error.file).toBe('0002_broken.sql');
    expect(error.message).toMatch(
      /^Migration 0002_broken\.sql failed at line 3 and was rolled back: syntax error/,
    );

    const tables = await pool.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(tables.rows.map((row) => row.table_name)).toEqual(['kept', 'schema_migrations']);
    const applied = await pool.query<{ name: string }>('SELECT name FROM schema_migrations');
    expect(applied.rows.map((row) => row.name)).toEqual(['0001_ok.sql']);

    // Fixing the file lets the next start carry on from where it stopped.
    await write('0002_broken.sql', 'CREATE TABLE half_done (id int);');
    expect(await runMigrations(pool, dir, logger)).toEqual({
      applied: ['0002_broken.sql', '0003_never.sql'],
    });
  });

  it('refuses to start when an applied file was edited, naming the file', async () => {
    await write('0001_create.sql', 'CREATE TABLE t (id int);');
    await runMigrations(pool, dir, logger);
    await write('0001_create.sql', 'CREATE TABLE t (id bigint);');
    await write('0002_next.sql', 'CREATE TABLE u (id int);');
    const error = await migrationError(runMigrations(pool, dir, logger));
    expect(error.file).toBe('0001_create.sql');
    expect(error.message).toContain('Migration 0001_create.sql was changed after it was applied');
    expect((await pool.query("SELECT to_regclass('public.u') AS u")).rows[0]).toEqual({ u: null });
  });

  it('treats a CRLF checkout of the same file as unchanged', async () => {
    await write('0001_create.sql', 'CREATE TABLE t (id int);\nCREATE TABLE v (id int);\n');
    await runMigrations(pool, dir, logger);
    await write('0001_create.sql', 'CREATE TABLE t (id int);\r\nCREATE TABLE v (id int);\r\n');
    expect(await runMigrations(pool, dir, logger)).toEqual({ applied: [] });
  });

  it('refuses an applied migration missing from the folder', async () => {
    await write('0001_create.sql', 'CREATE TABLE t (id int);');
    await runMigrations(pool, dir, logger);
    await rm(join(dir, '0001_create.sql'));
    const error = await migrationError(runMigrations(pool, dir, logger));
    expect(error.message).toContain('Migration 0001_create.sql is applied in the database but missing');
  });

  it('refuses badly named and duplicate-numbered files before touching the database', async () => {
    await write('1_bad.sql', 'SELECT 1;');
    expect((await migrationError(runMigrations(pool, dir, logger))).message).toContain(
      '1_bad.sql does not match NNNN_name.sql',
    );
    await rm(join(dir, '1_bad.sql'));
    await write('0001_a.sql', 'SELECT 1;');
    await write('0001_b.sql', 'SELECT 1;');
    expect((await migrationError(runMigrations(pool, dir, logger))).message).toContain(
      '0001_a.sql and 0001_b.sql share number 0001',
    );
    expect((await pool.query("SELECT to_regclass('public.schema_migrations') AS t")).rows[0]).toEqual({
      t: null,
    });
  });

  it("applies the repository's own migrations to an empty database", async () => {
    const result = await runMigrations(pool, join(repoRoot, 'migrations'), logger);
    expect(result.applied.length).toBeGreaterThan(0);
    expect(await runMigrations(pool, join(repoRoot, 'migrations'), logger)).toEqual({ applied: [] });
  });
});
