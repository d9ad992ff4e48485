import { join } from 'node:path';
import { REPO_ROOT } from '../app.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../observability/create-logger.js';
import { openDatabase } from '../store/database.js';
import { runMigrations } from '../store/migrate.js';

/** `fhir-fusion migrate` / `npm run migrate`: apply pending migrations and exit. */
export async function migrateCommand(): Promise<number> {
  const config = loadConfig({ FHIR_BASE_URL: 'http://unused.invalid/fhir', ...process.env });
  const logger = createLogger({ level: config.LOG_LEVEL });
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    embeddedPort: config.EMBEDDED_POSTGRES_PORT,
    logger,
  });
  try {
    const { applied } = await runMigrations(database.pool, join(REPO_ROOT, 'migrations'), logger);
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
    return 0;
  } finally {
    await database.close();
  }
}
