/**
 * Inference benchmark: `npx tsx bench/inference.ts [--model models/<name>/<version>] [--out report.json]`
 * (the CLI wires it as `npm run bench -- inference`).
 *
 * (a) floor: raw `session.run` on the main thread at batch 1, 8, 32, 64 — what ONNX Runtime alone
 *     can do, with nothing around it;
 * (b) engine: the registry + worker threads + dynamic batcher under closed-loop load at offered
 *     concurrency 1, 8, 32, 64, 128 — throughput, p50/p95/p99 latency, and the ratio to the floor at
 *     the batch size the engine actually formed;
 * (c) event-loop delay p99 (`perf_hooks.monitorEventLoopDelay`) while the engine is at full load,
 *     and, for contrast, while the floor runs batch-64 on the main thread.
 *
 * Every number is measured in this one run on this machine; nothing is asserted.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import type { InferenceLogger } from '../src/inference/runtime/inference-logger.js';
import { createInferenceEngine } from '../src/inference/runtime/inference-engine.js';
import { MODALITY_ORDER, type ModalityName, type ModelManifest } from '../src/contracts/manifest-types.js';
import { loadModelRegistry, type RegisteredModel } from '../src/inference/runtime/model-registry.js';
import {
  allocateTensorArray,
  elementCount,
  writeNumber,
  type TensorData,
} from '../src/inference/manifest/tensor-data.js';

/** Options of {@link runInferenceBenchmark}. */
export interface InferenceBenchOptions {
  /** Version folder `models/<name>/<version>`. */
  modelDir: string;
  /** Seconds per measured point. */
  seconds: number;
  threads: number;
  maxBatchSize: number;
  maxQueueDelayMs: number;
  /** Include explanation variants in the engine's batches. */
  explain: boolean;
  floorBatches: number[];
  concurrencies: number[];
}

/** One floor point. */
export interface FloorPoint {
  batch: number;
  runs: number;
  rowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** One engine point. */
export interface EnginePoint {
  concurrency: number;
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanRowsPerBatch: number;
  /** Floor batch size nearest to meanRowsPerBatch, and engine rows/s ÷ floor rows/s there. */
  floorBatch: number;
  ratioToFloor: number;
  eventLoopDelayP99Ms: number;
}

/** The whole report, as written to `--out`. */
export interface InferenceBenchReport {
  model: string;
  executionProvider: string;
  machine: { cpus: number; cpuModel: string; node: string };
  settings: Omit<InferenceBenchOptions, 'modelDir'>;
  floor: FloorPoint[];
  floorEventLoopDelayP99Ms: number;
  engine: EnginePoint[];
}

const silent: InferenceLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs (a), (b) and (c) for one model version. */
export async function runInferenceBenchmark(options: InferenceBenchOptions): Promise<InferenceBenchReport> {
  const versionDir = resolve(options.modelDir);
  const registry = await loadModelRegistry({
    modelsDir: dirname(dirname(versionDir)),
    active: [`${basename(dirname(versionDir))}@${basename(versionDir)}`],
    executionProviders: ['cuda', 'cpu'],
    logger: silent,
  });
  const model = registry.list()[0];
  if (!model) throw new Error(`no model at ${versionDir}`);

  const { floor, floorDelay } = await measureFloor(model, options);
  const engine = createInferenceEngine({
    registry,
    threads: options.threads,
    maxBatchSize: options.maxBatchSize,
    maxQueueDelayMs: options.maxQueueDelayMs,
    queueLimit: Math.max(1024, 2 * Math.max(...options.concurrencies)),
    explain: options.explain,
    logger: silent,
  });
  await engine.ready();
  const points: EnginePoint[] = [];
  try {
    // One untimed second so JIT and worker allocations settle before the first point.
    await closedLoop(engine, model, options.concurrencies[0] ?? 1, 1, 0);
    for (const concurrency of options.concurrencies) {
      const before = engine.stats();
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      const { latencies, elapsedS } = await closedLoop(
        engine,
        model,
        concurrency,
        options.seconds,
        7 * concurrency,
      );
      delay.disable();
      const after = engine.stats();
      const meanRows = (after.rows - before.rows) / Math.max(1, after.batches - before.batches);
      const rowsPerRequest = (after.rows - before.rows) / Math.max(1, after.requests - before.requests);
      const nearest = floor.reduce((best, f) =>
        Math.abs(f.batch - meanRows) < Math.abs(best.batch - meanRows) ? f : best,
      );
      const requestsPerSecond = latencies.length / elapsedS;
      points.push({
        concurrency,
        requests: latencies.length,
        requestsPerSecond,
        ...percentiles(latencies),
        meanRowsPerBatch: meanRows,
        floorBatch: nearest.batch,
        ratioToFloor: (requestsPerSecond * rowsPerRequest) / nearest.rowsPerSecond,
        eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
      });
    }
  } finally {
    await engine.close();
  }
  const { floorBatches, concurrencies, seconds, threads, maxBatchSize, maxQueueDelayMs, explain } = options;
  return {
    model: model.key,
    executionProvider: model.executionProvider,
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    settings: { floorBatches, concurrencies, seconds, threads, maxBatchSize, maxQueueDelayMs, explain },
    floor,
    floorEventLoopDelayP99Ms: floorDelay,
    engine: points,
  };
}

async function measureFloor(
  model: RegisteredModel,
  options: InferenceBenchOptions,
): Promise<{ floor: FloorPoint[]; floorDelay: number }> {
  const session = await ort.InferenceSession.create(model.modelPath, {
    executionProviders: [model.executionProvider],
    graphOptimizationLevel: 'all',
  });
  const floor: FloorPoint[] = [];
  let floorDelay = 0;
  try {
    for (const batch of options.floorBatches) {
      const feeds = Object.fromEntries(
        Object.entries(batchFeeds(model, batch, 1)).map(([k, t]) => [
          k,
          new ort.Tensor(t.dtype, t.data, t.dims),
        ]),
      );
      for (let i = 0; i < 5; i++) await session.run(feeds);
      // Tight loop: back-to-back runs are the floor; nothing else gets the thread meanwhile.
      const latencies: number[] = [];
      const start = performance.now();
      while (performance.now() - start < options.seconds * 1000) {
        const t0 = performance.now();
        await session.run(feeds);
        latencies.push(performance.now() - t0);
      }
      const elapsedS = (performance.now() - start) / 1000;
      const { p50Ms, p99Ms } = percentiles(latencies);
      floor.push({
        batch,
        runs: latencies.length,
        rowsPerSecond: (latencies.length * batch) / elapsedS,
        p50Ms,
        p99Ms,
      });
      if (batch === Math.max(...options.floorBatches))
        floorDelay = await loopDelayWhileRunning(session, feeds, options.seconds);
    }
  } finally {
    await session.release();
  }
  return { floor, floorDelay };
}

/**
 * Event-loop delay p99 while the main thread keeps running `session.run`, yielding between runs as
 * a server would between requests: what every other request on this thread would wait.
 */
async function loopDelayWhileRunning(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  seconds: number,
): Promise<number> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await session.run(feeds);
    await new Promise((r) => setImmediate(r));
  }
  delay.disable();
  return delay.percentile(99) / 1e6;
}

/** `concurrency` clients, each sending its next request as soon as the previous one is answered. */
async function closedLoop(
  engine: ReturnType<typeof createInferenceEngine>,
  model: RegisteredModel,
  concurrency: number,
  seconds: number,
  seed: number,
): Promise<{ latencies: number[]; elapsedS: number }> {
  const presence = Object.fromEntries(MODALITY_ORDER.map((m) => [m, true])) as Record<ModalityName, boolean>;
  const patients = Array.from({ length: concurrency }, (_, i) => batchFeeds(model, 1, seed + i + 1));
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    patients.map(async (tensors) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await engine.infer(model.name, model.version, tensors, { presence });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, elapsedS: (performance.now() - start) / 1000 };
}

/** Token ids must stay inside the model's vocabulary (its embedding table). */
function vocabularySize(model: RegisteredModel): number {
  const tokenizer = model.manifest.preprocessing.text?.tokenizer;
  if (!tokenizer) return 0;
  const parsed = JSON.parse(readFileSync(join(model.dir, tokenizer), 'utf8')) as { tokens?: unknown[] };
  return parsed.tokens?.length ?? 0;
}

/**
 * Plausible-looking inputs: normalised values in [-2, 2], masks and modality masks all 1, token
 * ids drawn from the vocabulary (ids 0 and 1 are pad and unknown).
 */
function batchFeeds(model: RegisteredModel, batch: number, seed: number): Record<string, TensorData> {
  const manifest: ModelManifest = model.manifest;
  const vocabulary = Math.max(3, vocabularySize(model));
  let state = seed * 2654435761;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const feeds: Record<string, TensorData> = {};
  for (const input of manifest.inputs) {
    const dims = input.shape.map((d, axis) => (axis === 0 ? batch : d === -1 ? 1 : d));
    const data = allocateTensorArray(input.dtype, elementCount(dims));
    for (let i = 0; i < data.length; i++) {
      const value = input.role.endsWith('mask')
        ? 1
        : input.role === 'text-tokens'
          ? 2 + Math.floor(next() * (vocabulary - 2))
          : next() * 4 - 2;
      writeNumber(data, i, value);
    }
    feeds[input.name] = { dtype: input.dtype, dims, data };
  }
  return feeds;
}

function percentiles(latencies: number[]): { p50Ms: number; p95Ms: number; p99Ms: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) };
}

/** The report as markdown tables. */
export function formatInferenceReport(report: InferenceBenchReport): string {
  const f = (n: number, d = 2): string => n.toFixed(d);
  const lines = [
    `### Inference: ${report.model} on ${report.executionProvider} (${report.machine.cpus} cores, ${report.machine.cpuModel}, Node ${report.machine.node})`,
    '',
    `Settings: ${report.settings.seconds}s per point, ${report.settings.threads} worker thread(s), maxBatchSize ${report.settings.maxBatchSize}, maxQueueDelayMs ${report.settings.maxQueueDelayMs}, explanations ${report.settings.explain ? 'on' : 'off'}.`,
    '',
    '**(a) Floor: raw session.run on the main thread**',
    '',
    '| batch | runs | rows/s | p50 ms | p99 ms |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...report.floor.map(
      (p) => `| ${p.batch} | ${p.runs} | ${f(p.rowsPerSecond, 0)} | ${f(p.p50Ms, 3)} | ${f(p.p99Ms, 3)} |`,
    ),
    '',
    '**(b) Engine: worker threads + dynamic batching, closed loop**',
    '',
    '| concurrency | requests | req/s | p50 ms | p95 ms | p99 ms | rows/batch | floor batch | engine ÷ floor | event-loop p99 ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...report.engine.map(
      (p) =>
        `| ${p.concurrency} | ${p.requests} | ${f(p.requestsPerSecond, 0)} | ${f(p.p50Ms, 3)} | ${f(p.p95Ms, 3)} | ${f(p.p99Ms, 3)} | ${f(p.meanRowsPerBatch, 1)} | ${p.floorBatch} | ${f(p.ratioToFloor)} | ${f(p.eventLoopDelayP99Ms, 3)} |`,
    ),
    '',
    `**(c) Event-loop delay p99:** ${f(report.engine[report.engine.length - 1]?.eventLoopDelayP99Ms ?? 0, 3)} ms with the engine at concurrency ${report.engine[report.engine.length - 1]?.concurrency ?? 0}; ${f(report.floorEventLoopDelayP99Ms, 3)} ms while the floor runs batch ${Math.max(...report.settings.floorBatches)} on the main thread.`,
    '',
    ...issue26Targets(report, f),
  ];
  return lines.join('\n');
}

/**
 * Issue 26's targets: engine ÷ floor with the engine offered as many concurrent patients as the
 * floor's batch (1, 8, 32, 64; ≥ 0.9 at 32), and the engine's concurrency-1 p50 latency ÷ the
 * floor's batch-1 p50 (≤ 2).
 */
function issue26Targets(report: InferenceBenchReport, f: (n: number, d?: number) => string): string[] {
  const floorAt = (batch: number): FloorPoint | undefined => report.floor.find((p) => p.batch === batch);
  const rows = report.engine.flatMap((p) => {
    const floor = floorAt(p.concurrency);
    const nearest = floorAt(p.floorBatch);
    if (!floor || !nearest) return [];
    // ratioToFloor is against the nearest floor batch; rescale it to the matching one.
    const ratio = (p.ratioToFloor * nearest.rowsPerSecond) / floor.rowsPerSecond;
    const target = p.concurrency === 32 ? ' (target ≥ 0.9)' : '';
    const met = p.concurrency === 32 ? (ratio >= 0.9 ? ' met' : ' not met') : '';
    return [`| engine ÷ floor at batch ${p.concurrency}${target} | ${f(ratio)} |${met} |`];
  });
  const c1 = report.engine.find((p) => p.concurrency === 1);
  const f1 = floorAt(1);
  const latency = c1 && f1 ? c1.p50Ms / f1.p50Ms : Number.NaN;
  return [
    '**(d) Issue 26 targets**',
    '',
    '| measure | value | |',
    '| --- | ---: | --- |',
    ...rows,
    `| concurrency-1 p50 latency: engine ${f(c1?.p50Ms ?? Number.NaN, 3)} ms ÷ floor ${f(f1?.p50Ms ?? Number.NaN, 3)} ms (target ≤ 2) | ${f(latency)} | ${latency <= 2 ? 'met' : 'not met'} |`,
  ];
}

/** The default model: the first version folder in `models/`, else the tiny test model. */
export function defaultModelDir(repoRoot: string): string {
  const models = join(repoRoot, 'models');
  if (existsSync(models)) {
    for (const name of readdirSync(models).sort()) {
      const dir = join(models, name);
      const versions = existsSync(dir)
        ? readdirSync(dir)
            .filter((v) => existsSync(join(dir, v, 'manifest.json')))
            .sort()
        : [];
      if (versions[0]) return join(dir, versions[0]);
    }
  }
  return join(repoRoot, 'test', 'fixtures', 'models', 'tiny-fusion', '1.0.0');
}

/** CLI entry: parses `argv` (without node and script), prints markdown, writes JSON to `--out`. */
export async function main(argv: string[]): Promise<void> {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      seconds: { type: 'string', default: '3' },
      threads: { type: 'string', default: String(Math.max(1, availableParallelism() - 1)) },
      'max-batch': { type: 'string', default: '64' },
      'delay-ms': { type: 'string', default: '2' },
      explain: { type: 'boolean', default: false },
    },
  });
  const report = await runInferenceBenchmark({
    modelDir: values.model ?? positionals.find((p) => p !== 'inference') ?? defaultModelDir(repoRoot),
    seconds: Number(values.seconds),
    threads: Number(values.threads),
    maxBatchSize: Number(values['max-batch']),
    maxQueueDelayMs: Number(values['delay-ms']),
    explain: values.explain ?? false,
    floorBatches: [1, 8, 32, 64],
    concurrencies: [1, 8, 32, 64, 128],
  });
  console.log(formatInferenceReport(report));
  if (values.out) {
    await mkdir(dirname(resolve(values.out)), { recursive: true });
    await writeFile(values.out, JSON.stringify(report, null, 2) + '\n');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
