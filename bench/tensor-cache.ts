/**
 * Tensor-cache benchmark (issue #26): preprocessing CPU and wall time per patient for every
 * model that reads an image or an ECG, with the preprocessed-tensor cache off, cold (every input a
 * miss) and warm (every input seen before: no decode, no ECG parse). Synthetic cohort (the
 * reference models are trained on synthetic data). Run: `npm run bench -- tensor-cache [patients]`.
 * Figures are measured in this run, single-threaded, and printed; nothing is asserted.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { ModelManifest } from '../src/contracts/manifest-types.js';
import { preprocessRecord, type PreprocessOptions } from '../src/preprocess/preprocess-record.js';
import { createUcumConverter } from '../src/preprocess/tabular/unit-conversion.js';
import { createTensorCache } from '../src/preprocess/tensor-cache.js';
import { generateCohort } from '../src/sandbox/cohort/index.js';
import { recordFromGenerated } from '../models/training/export-features.js';

const patients = Number(process.argv[2] ?? 20);
const now = new Date('2026-01-15T12:00:00Z');
const convertUnit = createUcumConverter();
const records = [
  ...generateCohort({ patients, seed: 5, now, dicomwebBaseUrl: 'http://localhost/dicomweb' }),
].map((p, i) => recordFromGenerated(p, i, now));

console.log(
  `# tensor cache — ${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} CPUs, load ${loadavg()[0]?.toFixed(2)}`,
);
console.log(`${patients} synthetic patients; ms per patient (CPU of this process / wall)\n`);
console.log('| model | cache off | cold | warm |');
console.log('|---|---|---|---|');
for (const name of ['attention-fusion', 'late-fusion', 'image-cnn', 'ecg-cnn', 'ecg-image-cnn']) {
  const manifest = JSON.parse(readFileSync(`models/${name}/1/manifest.json`, 'utf8')) as ModelManifest;
  const dir = `models/${name}/1`;
  const pass = (options: Partial<PreprocessOptions>): string => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (const r of records) preprocessRecord(r, manifest, dir, { convertUnit, ...options });
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1000 / records.length;
    return `${cpu.toFixed(1)} / ${((performance.now() - t0) / records.length).toFixed(1)}`;
  };
  pass({}); // warm-up: JIT and lazily loaded tables
  const off = pass({});
  const cache = createTensorCache({ maxBytes: 1 << 28, maxEntries: 4096 });
  const cold = pass({ tensorCache: cache });
  const warm = pass({ tensorCache: cache });
  console.log(`| ${name} | ${off} | ${cold} | ${warm} |`);
}
