// `npm run bench -- backfill [patients] [concurrency] [--ehr FHIR_URL --dicomweb URL] [--labels-only]`:
// FHIR Bulk Data backfill throughput on this machine. By default (issue 26) the EHR is the sandbox
// in a CHILD process (`fhir-fusion sandbox`, all four modalities) or any EHR given by --ehr, and
// the served models are ACTIVE_MODELS (default attention-fusion@1, explanations on): Patient/$export
// streamed into Postgres, each patient assembled, scored and written back (a transaction Bundle per
// assessment). This process holds only fhir-fusion, so its process.cpuUsage() is fhir-fusion's.
// `--labels-only` is the older run: an in-process sandbox with a labels-only cohort and
// tabular-risk@1. Prints phases, patients/s, CPU per patient, event-loop p99 and RSS, from one run.
// Postgres: DATABASE_URL (a fresh database is created on that server and dropped), else embedded.
import pg from 'pg';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openBackfillRuntime } from '../src/backfill/backfill-runtime.js';
import { runBackfill } from '../src/backfill/run-backfill.js';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/observability/create-logger.js';
import { startBackfillSandbox } from '../test/integration/backfill/backfill-sandbox.js';
import type { BenchEhr } from './child-ehr.js';
import { benchEhr } from './child-ehr.js';
import { configOverrides, describeOverrides } from './config-overrides.js';

const { values, positionals } = parseArgs({
  options: {
    ehr: { type: 'string' },
    dicomweb: { type: 'string' },
    'labels-only': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const patients = Number(positionals[0] ?? 300);
const concurrency = Number(positionals[1] ?? 8);
const labelsOnly = values['labels-only'] ?? false;
const models = labelsOnly ? 'tabular-risk@1' : (process.env.ACTIVE_MODELS ?? 'attention-fusion@1');
/** Issue 26's targets. */
const TARGET = { cpuMs: 20, patientsPerSecond: 50, loopP99Ms: 20, rssMiB: 1024 };

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
let ehr: BenchEhr;
if (labelsOnly) {
  const sandbox = await startBackfillSandbox(patients);
  ehr = {
    fhir: sandbox.fhirBaseUrl,
    dicomweb: `${new URL(sandbox.fhirBaseUrl).origin}/dicomweb`,
    description: 'labels-only sandbox in this process',
    stop: () => void sandbox.ehr.close(),
  };
} else ehr = await benchEhr(values, patients);
const loadSeconds = (performance.now() - t0) / 1000;
const dataDir = await mkdtemp(join(tmpdir(), 'fhir-fusion-backfill-'));
await chmod(dataDir, 0o755); // the embedded Postgres runs as user postgres when we are root
const config = loadConfig({
  DATA_DIR: dataDir,
  EMBEDDED_POSTGRES_PORT: '54397',
  ...configOverrides(),
  ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  FHIR_BASE_URL: ehr.fhir,
  DICOMWEB_BASE_URL: ehr.dicomweb,
  ACTIVE_MODELS: models,
  LOG_LEVEL: 'error',
});
const runtime = await openBackfillRuntime(config, createLogger({ level: 'error' }));
const phases = new Map<string, number>();
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const cpu0 = process.cpuUsage();
const t1 = performance.now();
const summary = await runBackfill(runtime.deps, {
  fhirBaseUrl: ehr.fhir,
  export: { level: 'patient' },
  concurrency,
  onProgress: (p) => {
    if (!phases.has(p.phase)) phases.set(p.phase, performance.now());
  },
});
const total = (performance.now() - t1) / 1000;
const cpu = process.cpuUsage(cpu0);
loop.disable();
const exportEnd = phases.get('loading') ?? t1;
const loadEnd = phases.get('scoring') ?? exportEnd;
const scored = summary.counts.scored;
const cpuMs = scored > 0 ? (cpu.user + cpu.system) / 1000 / scored : Number.NaN;
const loopP99 = loop.percentile(99) / 1e6;
const rss = process.resourceUsage().maxRSS / 1024;
const met = (ok: boolean): string => (ok ? 'met' : 'not met');
console.log(
  `\nbackfill: ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average at end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')}`,
);
console.log(
  `EHR: ${ehr.description}; models ${models}; concurrency ${concurrency}; settings: ${describeOverrides()}`,
);
console.log(`patients                 ${patients} (EHR started and loaded in ${loadSeconds.toFixed(1)} s)`);
console.log(`export (kick-off → manifest) ${((exportEnd - t1) / 1000).toFixed(2)} s`);
console.log(`NDJSON → Postgres        ${((loadEnd - exportEnd) / 1000).toFixed(2)} s`);
console.log(`scoring + write-back     ${summary.scoringSeconds.toFixed(2)} s`);
console.log(`scored ${scored}, skipped ${summary.counts.skipped}, failed ${summary.counts.failed}\n`);
console.log('| measure | value | target | |');
console.log('| --- | ---: | ---: | --- |');
console.log(
  `| patients/s (scoring + write-back) | ${summary.patientsPerSecond.toFixed(1)} | ≥ ${TARGET.patientsPerSecond} | ${met(summary.patientsPerSecond >= TARGET.patientsPerSecond)} |`,
);
console.log(`| patients/s (end to end, export included) | ${(patients / total).toFixed(1)} | | |`);
console.log(
  `| fhir-fusion CPU per scored patient (process.cpuUsage, all threads) | ${cpuMs.toFixed(1)} ms | ≤ ${TARGET.cpuMs} ms | ${met(cpuMs <= TARGET.cpuMs)} |`,
);
console.log(
  `| event-loop delay p99 | ${loopP99.toFixed(1)} ms | < ${TARGET.loopP99Ms} ms | ${met(loopP99 < TARGET.loopP99Ms)} |`,
);
console.log(
  `| peak RSS (fhir-fusion process) | ${rss.toFixed(0)} MiB | < ${TARGET.rssMiB} MiB | ${met(rss < TARGET.rssMiB)} |`,
);
await runtime.close();
ehr.stop();
await dropDatabase();
await rm(dataDir, { recursive: true, force: true });
process.exit(0);
