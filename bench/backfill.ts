// `npm run bench -- backfill [patients] [concurrency]`: FHIR Bulk Data backfill throughput on this
// machine: the sandbox EHR's Patient/$export of a labels-only synthetic cohort, streamed into
// Postgres, scored with tabular-risk@1 and written back (transaction Bundle per assessment) to the
// same sandbox. Prints the phases' times and patients/second, measured in one run.
// Postgres: DATABASE_URL (a fresh database is created on that server and dropped), else embedded.
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { openBackfillRuntime } from '../src/backfill/backfill-runtime.js';
import { runBackfill } from '../src/backfill/run-backfill.js';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/observability/create-logger.js';
import { startBackfillSandbox } from '../test/integration/backfill/backfill-sandbox.js';

const patients = Number(process.argv[2] ?? 300);
const concurrency = Number(process.argv[3] ?? 8);
let databaseUrl = process.env.DATABASE_URL;
let dropDatabase = async (): Promise<void> => undefined;
if (databaseUrl) {
  const name = `bench_backfill_${process.pid}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
  dropDatabase = async () => {
    const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
}

const t0 = performance.now();
const sandbox = await startBackfillSandbox(patients);
const loadSeconds = (performance.now() - t0) / 1000;
const config = loadConfig({
  ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  FHIR_BASE_URL: sandbox.fhirBaseUrl,
  ACTIVE_MODELS: 'tabular-risk@1',
  LOG_LEVEL: 'error',
});
const runtime = await openBackfillRuntime(config, createLogger({ level: 'error' }));
const phases = new Map<string, number>();
const t1 = performance.now();
const summary = await runBackfill(runtime.deps, {
  fhirBaseUrl: sandbox.fhirBaseUrl,
  export: { level: 'patient' },
  concurrency,
  onProgress: (p) => {
    if (!phases.has(p.phase)) phases.set(p.phase, performance.now());
  },
});
const total = (performance.now() - t1) / 1000;
const exportEnd = phases.get('loading') ?? t1;
const loadEnd = phases.get('scoring') ?? exportEnd;
console.log(`patients                 ${patients} (sandbox cohort stored in ${loadSeconds.toFixed(1)} s)`);
console.log(`export (kick-off → manifest) ${((exportEnd - t1) / 1000).toFixed(2)} s`);
console.log(`NDJSON → Postgres        ${((loadEnd - exportEnd) / 1000).toFixed(2)} s`);
console.log(`scoring + write-back     ${summary.scoringSeconds.toFixed(2)} s, concurrency ${concurrency}`);
console.log(`scored ${summary.counts.scored}, skipped ${summary.counts.skipped}, failed ${summary.counts.failed}`);
console.log(`patients/second (scoring) ${summary.patientsPerSecond.toFixed(1)}`);
console.log(`patients/second (end to end, export included) ${(patients / total).toFixed(1)}`);
await runtime.close();
await sandbox.ehr.close();
await dropDatabase();
