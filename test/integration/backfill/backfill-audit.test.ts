import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackfillRuntime } from '../../../src/backfill/backfill-runtime.js';
import { runBackfill } from '../../../src/backfill/run-backfill.js';
import { createLogger } from '../../../src/observability/create-logger.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import type { BackfillSandbox } from './backfill-sandbox.js';
import { startBackfillSandbox } from './backfill-sandbox.js';

const PATIENTS = 4;

// Issue #22: the backfill opened its own runtime with the raw fetch, so its EHR reads skipped the
// audit trail. It now runs on openRuntime, whose EHR fetch records every call in ehr_audit.
describe('backfill EHR calls are audited', () => {
  let db: TestDatabase;
  let sandbox: BackfillSandbox;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    sandbox = await startBackfillSandbox(PATIENTS);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  }, 180_000);

  afterAll(async () => {
    await pool?.end();
    await sandbox?.ehr.close();
    await db?.drop();
  });

  it('records the $export kick-off, status polls, file downloads and write-backs in ehr_audit', async () => {
    const config = testConfig({
      DATABASE_URL: db.url,
      FHIR_BASE_URL: sandbox.fhirBaseUrl,
      DICOMWEB_BASE_URL: `${new URL(sandbox.fhirBaseUrl).origin}/dicomweb`,
      ACTIVE_MODELS: 'tabular-risk@1',
      INFERENCE_THREADS: '1',
      OUTBOUND_TIMEOUT_MS: '60000',
    });
    const backfill = await openBackfillRuntime(config, createLogger({ level: 'error' }));
    try {
      const summary = await runBackfill(backfill.deps, {
        fhirBaseUrl: config.FHIR_BASE_URL,
        export: { level: 'system' },
        batchSize: 2,
        concurrency: 2,
      });
      expect(summary.counts.scored).toBe(PATIENTS);
    } finally {
      await backfill.close();
    }

    const { rows } = await pool.query<{ action: string; method: string; target: string; agent: string }>(
      'SELECT action, method, target, agent FROM ehr_audit ORDER BY id',
    );
    const targets = rows.map((r) => `${r.method} ${r.target}`);
    // The Bulk Data kick-off (FHIR Bulk Data IG: GET [base]/$export) and the NDJSON downloads are reads.
    expect(targets.some((t) => /^GET \S*\/\$export/.test(t)), targets.join('\n')).toBe(true);
    expect(rows.filter((r) => r.action === 'R').length).toBeGreaterThan(1);
    // Each scored patient's write-back is a transaction POST to the FHIR base.
    expect(rows.filter((r) => r.method === 'POST').length).toBeGreaterThanOrEqual(PATIENTS);
    expect(new Set(rows.map((r) => r.agent))).toEqual(new Set(['fhir-fusion']));
  }, 300_000);
});
