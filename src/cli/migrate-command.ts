import { loadConfig } from '../config/load-config.js';
import { openCliDatabase } from './open-cli-database.js';

/** `fhir-fusion migrate` / `npm run migrate`: apply pending migrations and exit. */
export async function migrateCommand(): Promise<number> {
  const config = loadConfig({ FHIR_BASE_URL: 'http://unused.invalid/fhir', ...process.env });
  const { database, applied } = await openCliDatabase(config);
  try {
    console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
    return 0;
  } finally {
    await database.close();
  }
}
