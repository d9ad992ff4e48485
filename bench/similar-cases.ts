// `npx tsx bench/similar-cases.ts [sizes...]`: similar-case query latency (p50/p95) of the
// in-process HNSW index (usearch, cosine, M=16, efConstruction=128, ef=256) at 10,000 and 100,000
// indexed cases of the model's 64-dimensional embeddings, plus recall@10 against exact search,
// and the time to embed one query ECG with the ONNX encoder. Measured in one run, printed as JSON.
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { loadEmbeddingModel } from '../src/similar-cases/embedding-model.js';
import { createVectorIndex } from '../src/similar-cases/vector-index.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const QUERIES = 500;
const K = 10;
const model = await loadEmbeddingModel(resolve('models/ecg-report-clip/1'));
const dim = model.dimension;

// mulberry32 (32-bit integer arithmetic throughout). A float LCG (`seed * 1103515245 + 12345`)
// loses precision past 2^53 and cycles after a few hundred draws: the earlier version of this
// benchmark indexed mostly duplicate vectors, and its "recall vs exact" measured tie-breaking.
let state = 12345;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
}
function unitVector(): Float32Array {
  // Clustered like real cases (a few hundred prototypes plus noise), not uniform on the sphere.
  const v = Float32Array.from({ length: dim }, random);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
const prototypes = Array.from({ length: 300 }, unitVector);
function caseVector(): Float32Array {
  const p = prototypes[Math.floor((random() + 0.5) * prototypes.length)]!;
  const v = p.map((x) => x + random() * 0.3);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
const percentile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

const ecg = new Float32Array(12 * 1000).map(() => random() * 0.2);
const embedTimes: number[] = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  await model.embedEcg([ecg]);
  embedTimes.push(performance.now() - t);
}
const results: Record<string, unknown>[] = [];
for (const size of sizes.length ? sizes : [10_000, 100_000]) {
  const index = createVectorIndex({ dimensions: dim });
  const vectors = Array.from({ length: size }, caseVector);
  const t0 = performance.now();
  vectors.forEach((v, i) => index.upsert(BigInt(i), v));
  const buildS = (performance.now() - t0) / 1000;
  const times: number[] = [];
  let found = 0;
  for (let q = 0; q < QUERIES; q++) {
    const query = caseVector();
    const t = performance.now();
    const hits = index.search(query, K, new Set([0n]));
    times.push(performance.now() - t);
    const exact = vectors
      .map((v, i) => ({ i, s: i === 0 ? -Infinity : v.reduce((acc, x, j) => acc + x * query[j]!, 0) }))
      .sort((a, b) => b.s - a.s)
      .slice(0, K)
      .map((e) => BigInt(e.i));
    const truth = new Set(exact);
    found += hits.filter((h) => truth.has(h.key)).length;
  }
  results.push({ indexedCases: size, buildSeconds: +buildS.toFixed(1), queryP50Ms: +percentile(times, 0.5).toFixed(3), queryP95Ms: +percentile(times, 0.95).toFixed(3), recallAt10VsExact: +(found / (QUERIES * K)).toFixed(4) });
}
process.stdout.write(`${JSON.stringify({ dimensions: dim, queries: QUERIES, k: K, embedEcgP95Ms: +percentile(embedTimes, 0.95).toFixed(2), results }, null, 2)}\n`);
await model.close();
