import pg from 'pg';
import type { Logger } from '../observability/create-logger.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** `DATABASE_URL`; unset starts the embedded Postgres. */
  databaseUrl?: string;
  /** `DATA_DIR`: where the embedded Postgres keeps its cluster (`<dataDir>/postgres`). */
  dataDir: string;
  /** `EMBEDDED_POSTGRES_PORT`. */
  embeddedPort: number;
  logger: Logger;
  /** Most connections the pool opens; 10 by default. */
  poolSize?: number;
}

/** An open database: a connection pool, and the embedded server behind it if one was started. */
export interface Database {
  pool: pg.Pool;
  /** Connection URL (with credentials: never log it; see {@link redactDatabaseUrl}). */
  url: string;
  /** True when this process started the embedded Postgres. */
  embedded: boolean;
  /** Ends the pool, then stops the embedded Postgres if this process started it. Safe to call twice. */
  close(): Promise<void>;
}

/** The URL with its password masked, for logs and error messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

/**
 * Opens the database: a plain `pg` pool on `databaseUrl`, or, when it is unset, the embedded
 * Postgres under `dataDir/postgres` (created on first use, reused afterwards). Checks one connection
 * before returning so a wrong URL fails at start-up, not on the first notification.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const { logger } = options;
  const server = options.databaseUrl
    ? undefined
    : await startEmbeddedPostgres({ dataDir: options.dataDir, port: options.embeddedPort, logger });
  const url = options.databaseUrl ?? server?.url;
  if (url === undefined) throw new Error('no database URL');

  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle client losing its connection emits 'error' on the pool; unhandled, that would crash
  // the process. The pool drops the client and opens a new one on the next checkout.
  // The error carries the pg client (connection parameters included): log only what helps.
  pool.on('error', (error: Error & { code?: string }) =>
    logger.warn({ err: { message: error.message, code: error.code } }, 'idle database connection lost'),
  );

  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    await server?.stop();
    const reason = error instanceof Error ? error.message : String(error);
    // Name the setting to fix (issue 24: a misconfigured container says which key is wrong).
    const key = options.databaseUrl ? ' (DATABASE_URL)' : ' (embedded Postgres under DATA_DIR)';
    throw new Error(`Cannot connect to the database at ${redactDatabaseUrl(url)}${key}: ${reason}`, {
      cause: error,
    });
  }
  logger.info({ embedded: server !== undefined }, 'database connected');

  let closing: Promise<void> | undefined;
  return {
    pool,
    url,
    embedded: server !== undefined,
    close: () => {
      closing ??= (async () => {
        try {
          await pool.end();
        } finally {
          await server?.stop();
        }
      })();
      return closing;
    },
  };
}

/** One round trip to the database, for the readiness check (`GET /readyz`). */
export async function pingDatabase(pool: Pick<pg.Pool, 'query'>): Promise<void> {
  await pool.query('SELECT 1');
}
