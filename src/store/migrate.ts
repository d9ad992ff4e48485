import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import type { Logger } from '../observability/create-logger.js';

/**
 * Session-level advisory lock key held while migrating ("fhirmigr" as a big-endian int8), so that
 * processes starting together migrate one after another (PostgreSQL §9.27.10 Advisory Lock Functions).
 */
export const MIGRATION_LOCK_KEY = '7379263929629370226';

/** Migration file names: four digits, underscore, a name; applied in numeric order. */
const MIGRATION_FILE = /^(\d{4})_[a-z0-9][a-z0-9_-]*\.sql$/;

/** A migration could not be read, checked or applied; `file` names the migration at fault. */
export class MigrationError extends Error {
  /** The migration file name (e.g. `0003_ledger.sql`), when one is at fault. */
  readonly file: string | undefined;

  constructor(message: string, file?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
    this.file = file;
  }
}

/** One migration file as found on disk. */
export interface MigrationFile {
  name: string;
  sql: string;
  /** Hex SHA-256 of the file with line endings normalised, so a CRLF checkout does not count as an edit. */
  checksum: string;
}

/** Result of {@link runMigrations}. */
export interface MigrationRun {
  /** Files applied by this run, in order; empty when the schema was already current. */
  applied: string[];
}

/** SHA-256 of a migration's text, with CRLF normalised to LF. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replaceAll('\r\n', '\n')).digest('hex');
}

/** Reads and orders `NNNN_name.sql` files; other `.sql` names and duplicate numbers are refused. */
export async function readMigrationFiles(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const seen = new Map<string, string>();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const number = MIGRATION_FILE.exec(name)?.[1];
    if (number === undefined) {
      throw new MigrationError(`Migration file ${name} does not match NNNN_name.sql (lower-case name)`, name);
    }
    const other = seen.get(number);
    if (other) throw new MigrationError(`Migration files ${other} and ${name} share number ${number}`, name);
    seen.set(number, name);
    const sql = await readFile(join(dir, name), 'utf8');
    files.push({ name, sql, checksum: migrationChecksum(sql) });
  }
  return files;
}

/** 1-based line of a 1-based character position reported by PostgreSQL, for error messages. */
function lineOf(sql: string, position: unknown): number | undefined {
  const offset = typeof position === 'string' ? Number(position) : NaN;
  if (!Number.isInteger(offset) || offset < 1) return undefined;
  return sql.slice(0, offset - 1).split('\n').length;
}

async function applyMigration(client: pg.PoolClient, file: MigrationFile): Promise<void> {
  await client.query('BEGIN');
  try {
    // No parameters: the simple query protocol runs every statement in the file.
    await client.query(file.sql);
    await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [
      file.name,
      file.checksum,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const detail = error instanceof Error ? error.message : String(error);
    const position = error && typeof error === 'object' && 'position' in error ? error.position : undefined;
    const line = lineOf(file.sql, position);
    throw new MigrationError(
      `Migration ${file.name} failed${line ? ` at line ${line}` : ''} and was rolled back: ${detail}`,
      file.name,
      { cause: error },
    );
  }
}

function verifyApplied(files: MigrationFile[], applied: Map<string, string>): void {
  const known = new Map(files.map((file) => [file.name, file.checksum]));
  for (const [name, checksum] of applied) {
    const current = known.get(name);
    if (current === undefined) {
      throw new MigrationError(
        `Migration ${name} is applied in the database but missing from the migrations folder; this build is older than the database`,
        name,
      );
    }
    if (current !== checksum) {
      throw new MigrationError(
        `Migration ${name} was changed after it was applied (checksum ${checksum.slice(0, 12)}… in the database, ${current.slice(0, 12)}… on disk); add a new migration instead of editing an applied one`,
        name,
      );
    }
  }
}

/**
 * Applies pending `NNNN_name.sql` files from `dir` in order, each in its own transaction, and
 * records each in `schema_migrations` (name, SHA-256 checksum, applied_at). Refuses to run when an
 * applied file changed or disappeared. Holds a session advisory lock on one dedicated connection
 * for the whole run, so concurrent starts apply every file exactly once.
 */
export async function runMigrations(pool: pg.Pool, dir: string, logger: Logger): Promise<MigrationRun> {
  const files = await readMigrationFiles(dir);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      // Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can still collide in pg_type.
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        name       text        PRIMARY KEY,
        checksum   text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ name: string; checksum: string }>(
        'SELECT name, checksum FROM schema_migrations',
      );
      const applied = new Map(rows.map((row) => [row.name, row.checksum]));
      verifyApplied(files, applied);
      const pending = files.filter((file) => !applied.has(file.name));
      for (const file of pending) {
        const started = performance.now();
        await applyMigration(client, file);
        logger.info(
          { migration: file.name, durationMs: Math.round(performance.now() - started) },
          'migration applied',
        );
      }
      if (pending.length === 0) logger.debug({ migrations: files.length }, 'schema is current');
      return { applied: pending.map((file) => file.name) };
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY])
        .catch((error: unknown) => {
          // A connection that cannot unlock is discarded, which ends its session and frees the lock.
          broken = error instanceof Error ? error : new Error(String(error));
        });
    }
  } catch (error) {
    // After any failure the connection is discarded rather than reused: ending its session also
    // ends any lock or transaction it might still hold.
    broken ??= error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(broken);
  }
}
