import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileSha256 } from '../inference/manifest/file-sha256.js';
import { loadEmbeddingModel } from '../similar-cases/embedding-model.js';
import { createVectorIndex } from '../similar-cases/vector-index.js';
import { parseNpy } from '../inference/manifest/npy-format.js';
import type { Interval } from './bootstrap.js';
import { BOOTSTRAP_RESAMPLES } from './model-statistics.js';
import {
  pairRanks,
  recallFromRanks,
  retrievalIntervals,
  type PerQueryRetrieval,
  type RecallAtK,
  type RetrievalMetric,
} from './retrieval-metrics.js';

export type { RecallAtK } from './retrieval-metrics.js';

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
  /** What the ECG encoder reads: the waveform or the rendered 12-lead image. */
  ecgRepresentation: 'waveform' | 'image';
  /** How {@link RetrievalReport.intervals} were computed. */
  method: string;
  /** 95 % bootstrap intervals of the recalls and the exact-search condition match. */
  intervals: Record<RetrievalMetric, Interval>;
}

/** A model's report, and what each query contributed (for paired comparisons between encoders). */
export interface RetrievalEvaluation {
  /** `name@version` of the model folder. */
  key: string;
  report: RetrievalReport;
  perQuery: PerQueryRetrieval;
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

/**
 * The held-out ECG tensors in the encoder's representation: the waveform, or the 12-lead image
 * `export-features.ts` rendered with `renderEcgImage` (the preprocessing the server runs) at the
 * size `ecg-image-cnn` asks for. An image encoder of another size cannot be fed that export.
 */
function heldOutEcg(cohortDir: string, role: string, dims: readonly number[]) {
  const file = role === 'ecg-image' ? 'ecg_image.npy' : 'ecg_waveform.npy';
  const tensor = npy(join(cohortDir, 'test', file));
  if (tensor.shape.slice(1).join('×') !== dims.join('×'))
    throw new RangeError(`test/${file} holds ${tensor.shape.slice(1).join('×')} ECGs; the encoder reads ${dims.join('×')}`);
  return tensor;
}

/**
 * Evaluates an ECG ↔ report model on the held-out test split exactly as the server uses it:
 * the report text goes through the server's tokenizer and the text encoder, the ECG tensor (the
 * server's own preprocessing, from `export-features.ts`: the waveform, or its rendered 12-lead
 * image for an image encoder) through the ECG encoder, both in ONNX Runtime; the neighbour share is
 * measured both by exact search and through the served HNSW index. The same definitions as
 * `models/training/train_clip.py`, and the same queries for every encoder (patients with a
 * recorded ECG and an ECG report), so encoders can be compared pairwise.
 */
export async function evaluateRetrieval(input: RetrievalEvaluationInput): Promise<RetrievalEvaluation> {
  const model = await loadEmbeddingModel(input.modelDir);
  try {
    const ecgInput = model.manifest.encoders.ecg.inputs[0]!;
    const waveform = npy(join(input.cohortDir, 'test', 'ecg_waveform.npy'));
    const ecg = ecgInput.role === 'ecg-waveform' ? waveform : heldOutEcg(input.cohortDir, ecgInput.role, ecgInput.shape.slice(1));
    const labels = npy(join(input.cohortDir, 'test', 'labels.npy'));
    const texts = JSON.parse(readFileSync(join(input.clipDir, 'test', 'report_text.json'), 'utf8')) as Array<string | null>;
    const rows = waveform.shape[0]!;
    const waveWidth = waveform.shape.slice(1).reduce((a, b) => a * b, 1);
    const width = ecg.shape.slice(1).reduce((a, b) => a * b, 1);
    const outcomes = labels.shape[1] ?? 1;
    // Pairs: patients with an ECG (non-zero waveform) and an ECG report, as in train_clip.py,
    // whichever representation the encoder reads.
    const keep: number[] = [];
    for (let r = 0; r < rows; r++) {
      const row = waveform.data.subarray(r * waveWidth, (r + 1) * waveWidth) as Float32Array;
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
    const matchPerQuery = (neighbours: number[][]) =>
      Float64Array.from(neighbours, (list, i) => list.slice(0, 5).filter((j) => labelOf[j] === labelOf[i]).length / 5);
    const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const counts = new Map<string, number>();
    for (const l of labelOf) counts.set(l, (counts.get(l) ?? 0) + 1);
    const chance = [...counts.values()].reduce((a, c) => a + c * (c - 1), 0) / (n * (n - 1));

    // The served index (usearch HNSW, the server's settings).
    const index = createVectorIndex({ dimensions: model.dimension });
    ecgZ.forEach((z, i) => index.upsert(BigInt(i), z));
    const indexed = ecgZ.map((z, i) => index.search(z, 10, new Set([BigInt(i)])).map((h) => Number(h.key)));
    const overlap = indexed.reduce((acc, list, i) => acc + list.filter((j) => exact[i]!.includes(j)).length, 0) / (10 * n);

    const perQuery: PerQueryRetrieval = {
      ecgToReportRank: pairRanks(n, (i, j) => dot(ecgZ[i]!, txtZ[j]!)),
      reportToEcgRank: pairRanks(n, (i, j) => dot(txtZ[i]!, ecgZ[j]!)),
      top5Match: matchPerQuery(exact),
    };
    const report: RetrievalReport = {
      split: 'test',
      source: 'npm run models:evaluate -- retrieval (ONNX Runtime, the server tokenizer and HNSW index)',
      queries: n,
      ecgToReport: recallFromRanks(perQuery.ecgToReportRank),
      reportToEcg: recallFromRanks(perQuery.reportToEcgRank),
      top5ConditionMatch: mean(perQuery.top5Match),
      top5ConditionMatchChance: chance,
      top5ConditionMatchIndexed: mean(matchPerQuery(indexed)),
      indexRecallAt10: overlap,
      ecgRepresentation: model.manifest.preprocessing.ecg.representation,
      method: `${BOOTSTRAP_RESAMPLES} query-level bootstrap resamples (the same patients for every encoder), percentile method; the candidates are always all held-out patients`,
      intervals: retrievalIntervals(perQuery),
    };
    return { key: model.key, report, perQuery };
  } finally {
    await model.close();
  }
}

const SECTION_START = '<!-- retrieval-metrics:start -->';
const SECTION_END = '<!-- retrieval-metrics:end -->';

const f3 = (x: number) => x.toFixed(3);

/** `0.119 (0.098–0.141)`: a figure with its 95 % interval when there is one. */
function withInterval(value: number, interval: Interval | undefined): string {
  return interval && interval.lower !== null && interval.upper !== null
    ? `${f3(value)} (${f3(interval.lower)}–${f3(interval.upper)})`
    : f3(value);
}

/** What the ECG encoder of a report reads, in words for tables. */
function encoderWords(report: RetrievalReport): string {
  return report.ecgRepresentation === 'image' ? 'ViT, rendered ECG image' : '1-D CNN, waveform';
}

/**
 * The comparison table of several encoders on the same held-out queries (README, cards and the
 * command's output): recall@1/5/10 both ways and the top-5 condition match, each with its interval.
 */
export function renderRetrievalComparison(evaluations: ReadonlyArray<Pick<RetrievalEvaluation, 'key' | 'report'>>): string {
  const cell = (r: RetrievalReport, m: RetrievalMetric) => {
    const [direction, k] = m.split('.') as ['ecgToReport' | 'reportToEcg', keyof RecallAtK];
    const value = m === 'top5ConditionMatch' ? r.top5ConditionMatch : r[direction][k];
    return withInterval(value, r.intervals[m]);
  };
  const rows = evaluations.map(
    ({ key, report: r }) =>
      `| \`${key}\` (${encoderWords(r)}) | ${cell(r, 'ecgToReport.recallAt1')} | ${cell(r, 'ecgToReport.recallAt5')} | ${cell(r, 'ecgToReport.recallAt10')} | ` +
      `${cell(r, 'reportToEcg.recallAt1')} | ${cell(r, 'reportToEcg.recallAt5')} | ${cell(r, 'reportToEcg.recallAt10')} | ${cell(r, 'top5ConditionMatch')} |`,
  );
  return [
    '| model (ECG encoder) | ECG → report R@1 | R@5 | R@10 | report → ECG R@1 | R@5 | R@10 | top-5 condition match |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

/**
 * The card's retrieval section, between markers so a re-run replaces it; `comparison` (every
 * similar-case encoder evaluated in the same run, this one included) adds the side-by-side table.
 */
export function renderRetrievalSection(
  report: RetrievalReport,
  comparison: ReadonlyArray<Pick<RetrievalEvaluation, 'key' | 'report'>> = [],
): string {
  const row = (label: string, r: RecallAtK, direction: 'ecgToReport' | 'reportToEcg') =>
    `| ${label} | ${withInterval(r.recallAt1, report.intervals[`${direction}.recallAt1`])} | ${withInterval(r.recallAt5, report.intervals[`${direction}.recallAt5`])} | ${withInterval(r.recallAt10, report.intervals[`${direction}.recallAt10`])} |`;
  const compared =
    comparison.length > 1
      ? `
Every similar-case encoder on the same ${report.queries} held-out queries (same report text, same
split; 95 % bootstrap intervals in brackets):

${renderRetrievalComparison(comparison)}
`
      : '';
  return `${SECTION_START}
## Retrieval performance (held-out test split, ${report.queries} synthetic patients with an ECG and an ECG report)

Measured by \`npm run models:evaluate -- retrieval\` through ONNX Runtime with the server's own
tokenizer and HNSW index. In brackets: 95 % intervals from ${report.method}.

| direction | recall@1 | recall@5 | recall@10 |
| --- | --- | --- | --- |
${row('ECG → report', report.ecgToReport, 'ecgToReport')}
${row('report → ECG', report.reportToEcg, 'reportToEcg')}

Top-5 ECG neighbours (the query patient excluded) whose latent conditions (acute heart failure,
pneumonia, atrial fibrillation; the generator's ground truth) all equal the query's:
**${withInterval(report.top5ConditionMatch, report.intervals.top5ConditionMatch)}** by exact search, ${f3(report.top5ConditionMatchIndexed)} through the served
HNSW index (chance, two random patients: ${f3(report.top5ConditionMatchChance)}). The index returns
${(report.indexRecallAt10 * 100).toFixed(1)} % of the exact 10 nearest neighbours.
${compared}
Recall is over all test patients at once: the right report must rank first among ${report.queries}
candidates, many of which say nearly the same thing (reports are templated), so recall@1 is
bounded well below 1 by near-duplicate reports.
${SECTION_END}`;
}

/**
 * Writes the report into `embedding-manifest.json#metrics.retrieval` and the card's retrieval
 * section (replacing the training script's; with the side-by-side table of `comparison`), then
 * refreshes the card's sha256 in the manifest.
 */
export async function publishRetrievalReport(
  modelDir: string,
  report: RetrievalReport,
  comparison: ReadonlyArray<Pick<RetrievalEvaluation, 'key' | 'report'>> = [],
): Promise<void> {
  const cardPath = join(modelDir, 'card.md');
  const card = readFileSync(cardPath, 'utf8');
  const section = renderRetrievalSection(report, comparison);
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
