import { loadConfig } from '../config/load-config.js';
import { createEhrClient } from '../fhir/ehr-client.js';
import { createEhrFetch } from '../fhir/ehr-fetch.js';
import { syncSubscriptions } from '../intake/subscription-sync.js';
import { createLogger } from '../observability/create-logger.js';
import { openDatabase } from '../store/database.js';
import { listSubscriptions } from '../store/subscriptions-repository.js';
import { runMigrations } from '../store/migrate.js';
import { join } from 'node:path';
import { REPO_ROOT } from '../app.js';

/** `fhir-fusion subscriptions sync|status`. */
export async function subscriptionsCommand(action: string): Promise<number> {
  if (action !== 'sync' && action !== 'status') {
    console.error('usage: fhir-fusion subscriptions sync|status');
    return 2;
  }
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.LOG_LEVEL });
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    embeddedPort: config.EMBEDDED_POSTGRES_PORT,
    logger,
  });
  try {
    await runMigrations(database.pool, join(REPO_ROOT, 'migrations'), logger);
    if (action === 'sync') {
      const outbound = createEhrFetch(config);
      const client = createEhrClient({ fhirBaseUrl: config.FHIR_BASE_URL, fetch: outbound.fetch });
      for (const r of await syncSubscriptions({ client, pool: database.pool, publicUrl: config.PUBLIC_URL })) {
        console.log(`${r.key.padEnd(18)} ${r.action.padEnd(8)} Subscription/${r.ehrSubscription}`);
      }
    } else {
      const rows = await listSubscriptions(database.pool);
      if (rows.length === 0) console.log('no subscriptions; run `fhir-fusion subscriptions sync`');
      for (const r of rows) {
        console.log(`${r.key.padEnd(18)} ${r.kind.padEnd(20)} ${r.status.padEnd(10)} ${r.criteria}  last event: ${r.last_event_number ?? '—'}`);
      }
    }
    return 0;
  } finally {
    await database.close();
  }
}
