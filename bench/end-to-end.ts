// `npm run bench -- end-to-end [rate/s] [seconds] [patients]`: notifications per second into the
// server → RiskAssessments written into the sandbox EHR. A bedside-monitor feed writes vital signs
// to the sandbox EHR at the offered rate; the EHR notifies fhir-fusion (rest-hook); each job
// assembles all four modalities, runs the served fusion models and writes back. Reports latency
// from notification receipt to write-back (inbox.received_at → ledger.created_at), stage times
// from the server's own histograms, event-loop delay and peak RSS — all from this one run.
import type { Observation } from '@medplum/fhirtypes';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load-config.js';
import { createEhrClient } from '../src/fhir/ehr-client.js';
import { syncSubscriptions } from '../src/subscriptions/subscription-sync.js';
import { startServer } from '../src/main.js';
import { startDemoSandbox } from '../src/sandbox/demo-sandbox.js';

const rate = Number(process.argv[2] ?? 10);
const seconds = Number(process.argv[3] ?? 20);
const patients = Number(process.argv[4] ?? 40);
const models = process.env.ACTIVE_MODELS ?? 'attention-fusion@1';

const dataDir = await mkdtemp(join(tmpdir(), 'fhir-fusion-bench-'));
await chmod(dataDir, 0o755); // the embedded Postgres runs as user postgres when we are root
const sandbox = await startDemoSandbox({ port: 0, patients, seed: 3 });
const config = loadConfig({
  LOG_LEVEL: 'error',
  PORT: '0',
  DATA_DIR: dataDir,
  EMBEDDED_POSTGRES_PORT: '54399',
  FHIR_BASE_URL: sandbox.fhirBaseUrl,
  DICOMWEB_BASE_URL: sandbox.dicomwebBaseUrl,
  COALESCE_WINDOW_MS: '0',
  ACTIVE_MODELS: models,
  ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
});
const server = await startServer(config);
const publicUrl = server.url;
const { pool, metrics } = server.runtime;
const ehr = createEhrClient({ fhirBaseUrl: sandbox.fhirBaseUrl, fetch });
await syncSubscriptions({ client: ehr, pool, publicUrl });

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const started = Date.now();
let sent = 0;
const writes: Array<Promise<unknown>> = [];
const timer = setInterval(() => {
  const patientId = sandbox.patientIds[sent % sandbox.patientIds.length] ?? '';
  sent++;
  const obs: Observation = {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: { value: 60 + (sent % 60), unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
  writes.push(ehr.createResource(obs));
}, 1000 / rate);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(timer);
await Promise.allSettled(writes);
// Drain: wait until every stored notification is processed (or 60 s).
const drainUntil = Date.now() + 60_000;
for (;;) {
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM notification_inbox WHERE status IN ('received','queued')");
  if ((rows[0]?.n ?? 0) === 0 || Date.now() > drainUntil) break;
  await new Promise((r) => setTimeout(r, 250));
}
const elapsed = (Date.now() - started) / 1000;
loop.disable();

const { rows: latency } = await pool.query<{ p50: number; p95: number; n: number; notifications: number }>(`
  WITH firsts AS (SELECT trace_id, min(received_at) AS received FROM notification_inbox GROUP BY trace_id)
  SELECT count(*)::int AS n,
         (SELECT count(*)::int FROM notification_inbox) AS notifications,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM l.created_at - f.received)) AS p50,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM l.created_at - f.received)) AS p95
  FROM assessment_ledger l JOIN firsts f ON f.trace_id = l.trace_id`);
const stages = (await metrics.stageSeconds.get()).values;
function quantile(stage: string, q: number): string {
  const buckets = stages.filter((v) => v.labels.stage === stage && v.metricName?.endsWith('_bucket'));
  const count = stages.find((v) => v.labels.stage === stage && v.metricName?.endsWith('_count'))?.value ?? 0;
  if (count === 0) return '—';
  const target = q * count;
  for (const b of buckets) {
    const le = (b.labels as Record<string, string | number>).le;
    if (b.value >= target) return le === '+Inf' ? '>120 s' : `≤ ${Number(le) * 1000} ms`;
  }
  return '—';
}
const l = latency[0];
const rss = process.resourceUsage().maxRSS / 1024;
console.log(`\nend-to-end: ${rate} notifications/s offered for ${seconds} s, ${patients} patients, models ${models}\n`);
console.log('| measure | value |');
console.log('| --- | ---: |');
console.log(`| vital signs written to the EHR | ${sent} |`);
console.log(`| notifications stored | ${l?.notifications ?? 0} |`);
console.log(`| RiskAssessments written | ${l?.n ?? 0} |`);
console.log(`| throughput (notifications stored / s) | ${((l?.notifications ?? 0) / elapsed).toFixed(1)} |`);
console.log(`| latency notification → write-back p50 | ${((l?.p50 ?? 0) * 1000).toFixed(0)} ms |`);
console.log(`| latency notification → write-back p95 | ${((l?.p95 ?? 0) * 1000).toFixed(0)} ms |`);
for (const stage of ['assembly', 'inference', 'writeback', 'end-to-end']) {
  console.log(`| stage ${stage}: p50 / p95 (histogram bucket bound) | ${quantile(stage, 0.5)} / ${quantile(stage, 0.95)} |`);
}
console.log(`| event-loop delay p99 (this process: server + sandbox) | ${(loop.percentile(99) / 1e6).toFixed(1)} ms |`);
console.log(`| peak RSS (server + sandbox EHR in one process) | ${rss.toFixed(0)} MiB |`);
await server.stop();
await sandbox.close();
await rm(dataDir, { recursive: true, force: true });
process.exit(0);
