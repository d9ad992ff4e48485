// `npm run bench -- cpu-per-patient [rate/s] [seconds] [patients] [--ehr FHIR_URL --dicomweb URL]`:
// what one assessed patient costs fhir-fusion itself (issue 26). `npm run bench -- end-to-end` is
// the same run without the stage clock (`--no-stage-clock`): throughput and latency unskewed by
// the clock's hooks; offer more than the server keeps up with for its capacity. The sandbox EHR runs in a CHILD
// process (`fhir-fusion sandbox`) — or is any EHR given by --ehr — so this process holds only
// fhir-fusion: the server (intake + worker), its inference worker threads and the load generator.
// Its CPU is `process.cpuUsage()` (user + system of every thread of this process, worker threads
// included) over the run, divided by RiskAssessments written.
//
// Per-stage figures come from the server's stage clock (STAGE_CPU_ACCOUNTING=true,
// src/observability/stage-clock.ts): main-thread time of every callback charged to the stage that
// scheduled it (so interleaved patients are each charged their own work), plus the inference
// worker threads' session.run time split between inference and explanation rows. What the clock
// does not see (other threads: GC helpers, libuv pool; main-thread time outside callbacks) is
// printed as the remainder of process.cpuUsage(). The clock's promise hooks cost CPU themselves;
// `--no-stage-clock` runs without them for the total alone.
// Embedded Postgres runs in its own processes and is not counted (neither is the EHR).
import type { Observation } from '@medplum/fhirtypes';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load-config.js';
import { createEhrClient } from '../src/fhir/ehr-client.js';
import { syncSubscriptions } from '../src/subscriptions/subscription-sync.js';
import { startServer } from '../src/main.js';
import { benchEhr } from './child-ehr.js';
import { configOverrides, describeOverrides } from './config-overrides.js';
import type { ClockStage } from '../src/observability/stage-clock.js';
import { threadCpuMs } from '../src/observability/thread-cpu.js';

const { values, positionals } = parseArgs({
  options: {
    ehr: { type: 'string' },
    dicomweb: { type: 'string' },
    'no-stage-clock': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const rate = Number(positionals[0] ?? 10);
const seconds = Number(positionals[1] ?? 20);
const patients = Number(positionals[2] ?? 40);
const models = process.env.ACTIVE_MODELS ?? 'attention-fusion@1';

/** Issue 26's targets. */
const TARGET = { cpuMs: 20, patientsPerSecond: 50, p95Ms: 500, loopP99Ms: 20, rssMiB: 1024 };

const ehrProcess = await benchEhr(values, patients);
const dataDir = await mkdtemp(join(tmpdir(), 'fhir-fusion-bench-'));
await chmod(dataDir, 0o755); // the embedded Postgres runs as user postgres when we are root
const config = loadConfig({
  LOG_LEVEL: 'error',
  PORT: '0',
  DATA_DIR: dataDir,
  EMBEDDED_POSTGRES_PORT: '54398',
  FHIR_BASE_URL: ehrProcess.fhir,
  DICOMWEB_BASE_URL: ehrProcess.dicomweb,
  COALESCE_WINDOW_MS: '0',
  ACTIVE_MODELS: models,
  STAGE_CPU_ACCOUNTING: values['no-stage-clock'] ? 'false' : 'true',
  ...configOverrides(),
});
const server = await startServer(config);
const { pool, metrics } = server.runtime;
const ehr = createEhrClient({ fhirBaseUrl: ehrProcess.fhir, fetch });
await syncSubscriptions({ client: ehr, pool, publicUrl: server.url });
const patientIds = (await ehr.searchResources('Patient', { _count: String(patients), _elements: 'id' }))
  .map((p) => p.id ?? '')
  .filter((id) => id !== '');
if (patientIds.length === 0) throw new Error('the EHR has no patients');

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const cpu0 = process.cpuUsage();
const clock0 = metrics.stageClock.snapshot();
const mainCpu0 = threadCpuMs();
const started = Date.now();
let sent = 0;
const writes: Array<Promise<unknown>> = [];
const timer = setInterval(() => {
  const patientId = patientIds[sent % patientIds.length] ?? '';
  sent++;
  const obs: Observation = {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: {
      value: 60 + (sent % 60),
      unit: 'beats/minute',
      system: 'http://unitsofmeasure.org',
      code: '/min',
    },
  };
  writes.push(ehr.createResource(obs));
}, 1000 / rate);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(timer);
await Promise.allSettled(writes);
const drainUntil = Date.now() + 60_000;
for (;;) {
  const { rows } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM notification_inbox WHERE status IN ('received','queued')",
  );
  if ((rows[0]?.n ?? 0) === 0 || Date.now() > drainUntil) break;
  await new Promise((r) => setTimeout(r, 250));
}
const cpu = process.cpuUsage(cpu0);
const clock1 = metrics.stageClock.snapshot();
const mainCpu1 = threadCpuMs();
const elapsed = (Date.now() - started) / 1000;
loop.disable();
const load = loadavg();

const { rows: latency } = await pool.query<{ p50: number; p95: number; n: number }>(`
  WITH firsts AS (SELECT trace_id, min(received_at) AS received FROM notification_inbox GROUP BY trace_id)
  SELECT count(*)::int AS n,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM l.created_at - f.received)) AS p50,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM l.created_at - f.received)) AS p95
  FROM assessment_ledger l JOIN firsts f ON f.trace_id = l.trace_id`);
const written = latency[0]?.n ?? 0;
const stageValues = (await metrics.stageSeconds.get()).values;
/** Mean wall ms of one stage observation (histogram sum ÷ count), or undefined when never observed. */
function meanMs(stage: string): number | undefined {
  const pick = (suffix: string): number =>
    stageValues.find((v) => v.labels.stage === stage && v.metricName?.endsWith(suffix))?.value ?? 0;
  const count = pick('_count');
  return count > 0 ? (pick('_sum') / count) * 1000 : undefined;
}
const cpuMs = written > 0 ? (cpu.user + cpu.system) / 1000 / written : Number.NaN;
const perSecond = written / elapsed;
const p95Ms = (latency[0]?.p95 ?? 0) * 1000;
const p50Ms = (latency[0]?.p50 ?? 0) * 1000;
const loopP99 = loop.percentile(99) / 1e6;
const rss = process.resourceUsage().maxRSS / 1024;
const met = (ok: boolean): string => (ok ? 'met' : 'not met');
const fmt = (ms: number | undefined): string => (ms === undefined ? '—' : ms.toFixed(1));

console.log(
  `\n${metrics.stageClock.enabled ? 'cpu-per-patient' : 'end-to-end (stage clock off)'}: ${new Date().toISOString().slice(0, 10)}, ${hostname()}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}`,
);
console.log(`load average at end (1/5/15 min): ${load.map((x) => x.toFixed(2)).join(' / ')}`);
console.log(
  `${rate} notifications/s offered for ${seconds} s over ${patientIds.length} patients, models ${models}; settings: ${describeOverrides()}`,
);
console.log(
  `EHR: ${ehrProcess.description}; ${sent} vital signs written, ${written} RiskAssessments written in ${elapsed.toFixed(1)} s\n`,
);
console.log('| measure | value | target | |');
console.log('| --- | ---: | ---: | --- |');
console.log(
  `| fhir-fusion CPU per assessed patient (process.cpuUsage, all threads) | ${cpuMs.toFixed(1)} ms | ≤ ${TARGET.cpuMs} ms | ${met(cpuMs <= TARGET.cpuMs)} |`,
);
console.log(
  `| patients/s (RiskAssessments written ÷ run time; cannot exceed the ${rate}/s offered) | ${perSecond.toFixed(1)} | ≥ ${TARGET.patientsPerSecond} | ${met(perSecond >= TARGET.patientsPerSecond)} |`,
);
console.log(
  `| notification → write-back p50 / p95 | ${p50Ms.toFixed(0)} / ${p95Ms.toFixed(0)} ms | < ${TARGET.p95Ms} ms | ${met(p95Ms < TARGET.p95Ms)} |`,
);
console.log(
  `| event-loop delay p99 (fhir-fusion process) | ${loopP99.toFixed(1)} ms | < ${TARGET.loopP99Ms} ms | ${met(loopP99 < TARGET.loopP99Ms)} |`,
);
console.log(
  `| peak RSS (fhir-fusion process) | ${rss.toFixed(0)} MiB | < ${TARGET.rssMiB} MiB | ${met(rss < TARGET.rssMiB)} |`,
);
const STAGES: Array<[ClockStage, string]> = [
  ['intake', 'notification request: parse, inbox row, enqueue'],
  ['queue', 'resolve jobs, pending-notification reads, marking the inbox'],
  ['assembly', 'FHIR + DICOMweb reads of all four modalities (HTTP client, JSON parse)'],
  ['preprocess:tabular', 'preprocessing: tabular features, units'],
  ['preprocess:text', 'preprocessing: report text → tokens'],
  ['preprocess:image', 'preprocessing: DICOM decode → 224×224 tensor (or tensor cache hit)'],
  ['preprocess:ecg', 'preprocessing: ECG parse, resample, render (or tensor cache hit)'],
  ['inference', 'batching + ONNX session.run of the prediction rows (worker threads)'],
  ['explanation', 'explanation rows: planning, session.run share, reading back'],
  ['validation', 'profile validation of the write-back Bundle'],
  ['write-back', 'previous-assessment search, Bundle build, transaction POST'],
  ['ledger', 'write-ahead intent, ledger row, interrupted-write settling'],
  ['other', 'main-thread callbacks outside a stage: HTTP server, pg-boss polling, timers, the load generator'],
];
const perPatient = (ms: number): string => (written > 0 ? (ms / written).toFixed(2) : '—');
if (metrics.stageClock.enabled) {
  const delta = (times: 'main' | 'added', stage: ClockStage): number =>
    (clock1[times][stage] ?? 0) - (clock0[times][stage] ?? 0);
  const mainClocked = STAGES.reduce((sum, [stage]) => sum + delta('main', stage), 0);
  // The main thread's real CPU over the run, shared out in the proportions the clock saw.
  const mainCpu = mainCpu0 !== undefined && mainCpu1 !== undefined ? mainCpu1 - mainCpu0 : mainClocked;
  const scale = mainClocked > 0 ? mainCpu / mainClocked : 1;
  console.log(
    `\nmain thread: ${(mainCpu / 1000).toFixed(1)} s CPU (/proc/thread-self/schedstat), ${(mainClocked / 1000).toFixed(1)} s inside clocked callbacks (scale ${scale.toFixed(2)})`,
  );
  console.log('\n| stage | CPU ms per assessed patient | covers |');
  console.log('| --- | ---: | --- |');
  let attributed = 0;
  for (const [stage, covers] of STAGES) {
    const ms = delta('main', stage) * scale + delta('added', stage);
    attributed += ms;
    console.log(`| ${stage} | ${perPatient(ms)} | ${covers} |`);
  }
  const total = (cpu.user + cpu.system) / 1000;
  console.log(
    `| other threads | ${perPatient(total - attributed)} | process.cpuUsage() minus the above: GC helper and libuv threads, worker start-up |`,
  );
  console.log(`| **total** | **${perPatient(total)}** | process.cpuUsage(), all threads |`);
}
console.log('\n| stage | wall ms per observation (mean of fhir_fusion_stage_seconds) |');
console.log('| --- | ---: |');
for (const stage of ['assembly', 'inference', 'writeback', 'end-to-end']) console.log(`| ${stage} | ${fmt(meanMs(stage))} |`);
await server.stop();
ehrProcess.stop();
await rm(dataDir, { recursive: true, force: true });
process.exit(0);
