import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileSha256 } from '../inference/manifest/file-sha256.js';
import { loadEmbeddingModel } from '../similar-cases/embedding-model.js';
import { createVectorIndex } from '../similar-cases/vector-index.js';
import { parseNpy } from '../inference/manifest/npy-format.js';

/** Recall@k: the share of queries whose own pair ranks within the first k candidates. */
export interface RecallAtK {
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
}

/** Held-out retrieval figures of the ECG ↔ report model, as written into its manifest and card. */
export interface RetrievalReport {
  split: 'test';
  source: string;
  queries: number;
  ecgToReport: RecallAtK;
  reportToEcg: RecallAtK;
  /** Share of each ECG's 5 nearest other ECGs whose latent conditions all equal the query's. */
  top5ConditionMatch: number;
  /** The same for two random distinct patients. */
  top5ConditionMatchChance: number;
  /** The same top-5 share through the served HNSW index instead of exact search. */
  top5ConditionMatchIndexed: number;
  /** Share of the exact 10 nearest ECGs that the served HNSW index also returns. */
  indexRecallAt10: number;
}

/** Where the held-out arrays are: the reference export (ECGs, labels) and the CLIP export (report text). */
export interface RetrievalEvaluationInput {
  modelDir: string;
  cohortDir: string;
  clipDir: string;
}

function npy(file: string) {
  return parseNpy(readFileSync(file));
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Rank of candidate `i` for query `i` (0 = first) under similarity `sim(i, j)`; ties count against. */
function recall(n: number, sim: (i: number, j: number) => number): RecallAtK {
  const hits = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const own = sim(i, i);
    let rank = 0;
    for (let j = 0; j < n; j++) if (j !== i && sim(i, j) > own) rank++;
    [1, 5, 10].forEach((k, x) => {
      if (rank < k) hits[x]!++;
    });
  }
  return { recallAt1: hits[0]! / n, recallAt5: hits[1]! / n, recallAt10: hits[2]! / n };
}

/**
 * Evaluates the ECG ↔ report model on the held-out test split exactly as the server uses it:
 * the report text goes through the server's tokenizer and the text encoder, the ECG tensor (the
 * server's own preprocessing, from `export-features.ts`) through the ECG encoder, both in ONNX
 * Runtime; the neighbour share is measured both by exact search and through the served HNSW
 * index. The same definitions as `models/training/train_clip.py`, so the two can be compared.
 */
export async function evaluateRetrieval(input: RetrievalEvaluationInput): Promise<RetrievalReport> {
  const model = await loadEmbeddingModel(input.modelDir);
  try {
    const ecg = npy(join(input.cohortDir, 'test', 'ecg_waveform.npy'));
    const labels = npy(join(input.cohortDir, 'test', 'labels.npy'));
    const texts = JSON.parse(readFileSync(join(input.clipDir, 'test', 'report_text.json'), 'utf8')) as Array<string | null>;
    const [rows, leads, samples] = ecg.shape as [number, number, number];
    const width = leads * samples;
    const outcomes = labels.shape[1] ?? 1;
    // Pairs: patients with an ECG (non-zero tensor) and an ECG report, as in train_clip.py.
    const keep: number[] = [];
    for (let r = 0; r < rows; r++) {
      const row = ecg.data.subarray(r * width, (r + 1) * width) as Float32Array;
      if (texts[r] && row.some((v) => v !== 0)) keep.push(r);
    }
    const ecgZ: Float32Array[] = [];
    const txtZ: Float32Array[] = [];
    for (let i = 0; i < keep.length; i += 128) {
      const batch = keep.slice(i, i + 128);
      ecgZ.push(...(await model.embedEcg(batch.map((r) => ecg.data.slice(r * width, (r + 1) * width) as Float32Array))));
      txtZ.push(...(await model.embedText(batch.map((r) => texts[r] as string))));
    }
    const n = keep.length;
    const label = (i: number) => Array.from({ length: outcomes }, (_, k) => Number(labels.data[(keep[i] as number) * outcomes + k])).join('');
    const labelOf = keep.map((_, i) => label(i));

    // Exact neighbours by ECG, the patient excluded.
    const exact: number[][] = [];
    for (let i = 0; i < n; i++) {
      const sims = ecgZ.map((z, j) => ({ j, s: j === i ? -Infinity : dot(ecgZ[i]!, z) }));
      sims.sort((a, b) => b.s - a.s);
      exact.push(sims.slice(0, 10).map((x) => x.j));
    }
    const matchShare = (neighbours: number[][]) =>
      neighbours.reduce((acc, list, i) => acc + list.slice(0, 5).filter((j) => labelOf[j] === labelOf[i]).length, 0) / (5 * n);
    const counts = new Map<string, number>();
    for (const l of labelOf) counts.set(l, (counts.get(l) ?? 0) + 1);
    const chance = [...counts.values()].reduce((a, c) => a + c * (c - 1), 0) / (n * (n - 1));

    // The served index (usearch HNSW, the server's settings).
    const index = createVectorIndex({ dimensions: model.dimension });
    ecgZ.forEach((z, i) => index.upsert(BigInt(i), z));
    const indexed = ecgZ.map((z, i) => index.search(z, 10, new Set([BigInt(i)])).map((h) => Number(h.key)));
    const overlap = indexed.reduce((acc, list, i) => acc + list.filter((j) => exact[i]!.includes(j)).length, 0) / (10 * n);

    return {
      split: 'test',
      source: 'npm run models:evaluate -- retrieval (ONNX Runtime, the server tokenizer and HNSW index)',
      queries: n,
      ecgToReport: recall(n, (i, j) => dot(ecgZ[i]!, txtZ[j]!)),
      reportToEcg: recall(n, (i, j) => dot(txtZ[i]!, ecgZ[j]!)),
      top5ConditionMatch: matchShare(exact),
      top5ConditionMatchChance: chance,
      top5ConditionMatchIndexed: matchShare(indexed),
      indexRecallAt10: overlap,
    };
  } finally {
    await model.close();
  }
}

const SECTION_START = '<!-- retrieval-metrics:start -->';
const SECTION_END = '<!-- retrieval-metrics:end -->';

/** The card's retrieval section, between markers so a re-run replaces it. */
export function renderRetrievalSection(report: RetrievalReport): string {
  const f = (x: number) => x.toFixed(3);
  const row = (label: string, r: RecallAtK) => `| ${label} | ${f(r.recallAt1)} | ${f(r.recallAt5)} | ${f(r.recallAt10)} |`;
  return `${SECTION_START}
## Retrieval performance (held-out test split, ${report.queries} synthetic patients with an ECG and an ECG report)

Measured by \`npm run models:evaluate -- retrieval\` through ONNX Runtime with the server's own
tokenizer and HNSW index.

| direction | recall@1 | recall@5 | recall@10 |
| --- | --- | --- | --- |
${row('ECG → report', report.ecgToReport)}
${row('report → ECG', report.reportToEcg)}

Top-5 ECG neighbours (the query patient excluded) whose latent conditions (acute heart failure,
pneumonia, atrial fibrillation; the generator's ground truth) all equal the query's:
**${f(report.top5ConditionMatch)}** by exact search, ${f(report.top5ConditionMatchIndexed)} through the served
HNSW index (chance, two random patients: ${f(report.top5ConditionMatchChance)}). The index returns
${(report.indexRecallAt10 * 100).toFixed(1)} % of the exact 10 nearest neighbours.

Recall is over all test patients at once: the right report must rank first among ${report.queries}
candidates, many of which say nearly the same thing (reports are templated), so recall@1 is
bounded well below 1 by near-duplicate reports.
${SECTION_END}`;
}

/**
 * Writes the report into `embedding-manifest.json#metrics.retrieval` and the card's retrieval
 * section (replacing the training script's), then refreshes the card's sha256 in the manifest.
 */
export async function publishRetrievalReport(modelDir: string, report: RetrievalReport): Promise<void> {
  const cardPath = join(modelDir, 'card.md');
  const card = readFileSync(cardPath, 'utf8');
  const section = renderRetrievalSection(report);
  const start = card.indexOf(SECTION_START);
  const end = card.indexOf(SECTION_END);
  let next: string;
  if (start >= 0 && end > start) next = card.slice(0, start) + section + card.slice(end + SECTION_END.length);
  else {
    // First run over the training script's card: replace its retrieval section up to the next heading.
    const heading = card.search(/^## Retrieval performance/m);
    const after = heading >= 0 ? card.slice(heading + 1).search(/^## /m) : -1;
    next =
      heading >= 0
        ? card.slice(0, heading) + section + '\n\n' + (after >= 0 ? card.slice(heading + 1 + after) : '')
        : `${card.trimEnd()}\n\n${section}\n`;
  }
  writeFileSync(cardPath, next);
  const manifestPath = join(modelDir, 'embedding-manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: Record<string, string>; metrics?: Record<string, unknown> };
  manifest.metrics = { ...(manifest.metrics ?? {}), retrieval: report };
  manifest.files['card.md'] = await fileSha256(cardPath);
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
}
