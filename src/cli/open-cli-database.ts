import { join } from 'node:path';
import { REPO_ROOT } from '../runtime/open-runtime.js';
import type { Config } from '../config/config-schema.js';
import type { Logger } from '../observability/create-logger.js';
import { createLogger } from '../observability/create-logger.js';
import type { Database } from '../store/database.js';
import { openDatabase } from '../store/database.js';
import { runMigrations } from '../store/migrate.js';

/**
 * What one-shot CLI commands share: the configured database (embedded when `DATABASE_URL` is
 * unset), migrated, and a logger. The caller closes `database`.
 */
export async function openCliDatabase(
  config: Config,
  logLevel: Config['LOG_LEVEL'] = config.LOG_LEVEL,
): Promise<{ database: Database; logger: Logger; applied: string[] }> {
  const logger = createLogger({ level: logLevel });
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    embeddedPort: config.EMBEDDED_POSTGRES_PORT,
    logger,
  });
  try {
    const { applied } = await runMigrations(database.pool, join(REPO_ROOT, 'migrations'), logger);
    return { database, logger, applied };
  } catch (err) {
    await database.close();
    throw err;
  }
}
