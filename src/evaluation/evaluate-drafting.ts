import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileSha256 } from '../inference/manifest/file-sha256.js';
import { parseNpy } from '../inference/manifest/npy-format.js';
import { openDescriptionDrafter } from '../inference/runtime/description-drafter.js';
import type { InferenceLogger } from '../inference/runtime/inference-logger.js';
import { RADIOGRAPH_FINDINGS, type RadiographFinding } from '../preprocess/text/radiograph-findings.js';
import { MAIN_FINDINGS, scoreDrafts, type DraftingScores, type Estimate } from './drafting-metrics.js';
import { fixed3, tableHeader, tableRow } from './markdown-table.js';

/** The two held-out test sets: the reference site and the shifted site (never used in training). */
const TEST_SETS = [
  ['test', 'same-site test set'],
  ['test-shifted', 'shifted-site test set'],
] as const;

/** Position of the image in `modality_mask.npy` (tabular, text, image, ecg: `MODALITY_ORDER`). */
const IMAGE_SLOT = 2;
/** Images per decoding batch (one encoder run and one decoder run per step for the whole batch). */
const BATCH = 128;

/** The radiograph findings a cohort lesion type is (`dataset.json#lesionTypes`). */
const LESION_FINDING: Readonly<Record<string, RadiographFinding>> = {
  cardiomegaly: 'cardiomegaly',
  effusion: 'effusion',
  consolidation: 'consolidation',
};

/**
 * Per row of a split, the findings its radiograph shows by the generator's ground truth (lesion
 * regions, `lesion_masks.npy`: a non-empty region is a finding the film shows), or `undefined`
 * when the export has no lesion regions.
 */
function imageTruth(cohortDir: string, split: string): ((row: number) => Set<RadiographFinding>) | undefined {
  const path = join(cohortDir, split, 'lesion_masks.npy');
  const datasetPath = join(cohortDir, 'dataset.json');
  if (!existsSync(path) || !existsSync(datasetPath)) return undefined;
  const types =
    (JSON.parse(readFileSync(datasetPath, 'utf8')) as { lesionTypes?: string[] }).lesionTypes ?? [];
  const masks = parseNpy(readFileSync(path));
  const [, t = 0, h = 0, w = 0] = masks.shape;
  if (!(masks.data instanceof Uint8Array) || t !== types.length) return undefined;
  const cells = h * w;
  const data = masks.data;
  return (row) => {
    const found = new Set<RadiographFinding>();
    types.forEach((type, k) => {
      const finding = LESION_FINDING[type];
      const start = (row * t + k) * cells;
      if (finding && data.subarray(start, start + cells).some((v) => v > 0)) found.add(finding);
    });
    return found;
  };
}

/** Figures of the model and the baseline on each test set. */
export interface DraftingReport {
  model: string;
  /** The baseline: the most common training target, emitted for every study. */
  baselineText: string;
  sets: Array<{ split: string; label: string; model: DraftingScores; baseline: DraftingScores }>;
}

const SILENT: InferenceLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** The most frequent target text of the training split (ties: the first in sort order). */
export function mostCommonText(texts: ReadonlyArray<string | null>): string {
  const counts = new Map<string, number>();
  for (const t of texts) if (t) counts.set(t, (counts.get(t) ?? 0) + 1);
  const sorted = [...counts.entries()].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  return sorted[0]?.[0] ?? '';
}

/**
 * Drafts a description for every held-out study with an image and a radiology report (the model
 * input radiograph from the cohort export, normalised as the model's manifest says) and scores it
 * against the report's findings and impression (`scoreDrafts`), beside a baseline that always
 * writes the most common training report.
 */
export async function evaluateDrafting(options: {
  modelDir: string;
  cohortDir: string;
  captionDir: string;
  logger?: InferenceLogger;
  log?: (line: string) => void;
}): Promise<DraftingReport> {
  const drafter = await openDescriptionDrafter({ dir: options.modelDir, logger: options.logger ?? SILENT });
  try {
    const { mean, std } = drafter.manifest.preprocessing.image;
    const trainTexts = JSON.parse(
      readFileSync(join(options.captionDir, 'train', 'target_text.json'), 'utf8'),
    ) as Array<string | null>;
    const baselineText = mostCommonText(trainTexts);
    const sets: DraftingReport['sets'] = [];
    for (const [split, label] of TEST_SETS) {
      if (!existsSync(join(options.captionDir, split, 'target_text.json'))) continue;
      const images = parseNpy(readFileSync(join(options.cohortDir, split, 'image.npy')));
      const mask = parseNpy(readFileSync(join(options.cohortDir, split, 'modality_mask.npy')));
      const references = JSON.parse(
        readFileSync(join(options.captionDir, split, 'target_text.json'), 'utf8'),
      ) as Array<string | null>;
      const pixels = (images.shape[1] ?? 1) * (images.shape[2] ?? 0) * (images.shape[3] ?? 0);
      const rows = references.flatMap((r, i) =>
        r !== null && Number(mask.data[i * 4 + IMAGE_SLOT]) > 0.5 ? [i] : [],
      );
      const truth = imageTruth(options.cohortDir, split);
      const pairs: Array<{
        generated: string;
        reference: string;
        truncated: boolean;
        imageFindings?: ReadonlySet<RadiographFinding>;
      }> = [];
      for (let k = 0; k < rows.length; k += BATCH) {
        const batch = rows.slice(k, k + BATCH).map((i) => {
          const raw = images.data.subarray(i * pixels, (i + 1) * pixels) as Float32Array;
          return Float32Array.from(raw, (x) => (x - mean) / std);
        });
        const drafts = await drafter.draftBatch(batch);
        drafts.forEach((d, j) => {
          if (d.status !== 'drafted')
            throw new Error(`${split} row ${rows[k + j]}: not drafted (${d.reason})`);
          const row = rows[k + j]!;
          pairs.push({
            generated: d.text,
            reference: references[row]!,
            truncated: d.truncated,
            ...(truth ? { imageFindings: truth(row) } : {}),
          });
        });
      }
      const model = scoreDrafts(pairs, `${drafter.modelName}@${drafter.modelVersion}/${split}`);
      const baseline = scoreDrafts(
        pairs.map((p) => ({ ...p, generated: baselineText, truncated: false })),
        `baseline/${split}`,
      );
      options.log?.(
        `${label}: ${model.n} studies; BLEU-4 ${fixed3(model.bleu4.value)} ROUGE-L ${fixed3(model.rougeL.value)} ` +
          `finding F1 ${fixed3(model.findingF1.value)} normals clean ${fixed3(model.normalsClean.value)} ` +
          `(baseline ${fixed3(baseline.bleu4.value)} / ${fixed3(baseline.rougeL.value)} / ${fixed3(baseline.findingF1.value)} / ${fixed3(baseline.normalsClean.value)})`,
      );
      sets.push({ split, label, model, baseline });
    }
    return { model: `${drafter.modelName}@${drafter.modelVersion}`, baselineText, sets };
  } finally {
    await drafter.close();
  }
}

const SECTION_START = '<!-- drafting-metrics:start -->';
const SECTION_END = '<!-- drafting-metrics:end -->';

/** `0.912 [0.890, 0.931]`, or `—` when undefined. */
function withCi(e: Estimate): string {
  if (e.value === null) return '—';
  return e.ci.lower === null || e.ci.upper === null
    ? fixed3(e.value)
    : `${fixed3(e.value)} [${fixed3(e.ci.lower)}, ${fixed3(e.ci.upper)}]`;
}

/** The Markdown tables of a report (card section and README quote the same text). */
export function renderDraftingTables(report: DraftingReport): string[] {
  const lines: string[] = [
    ...tableHeader([
      'test set',
      'system',
      'studies',
      'BLEU-4',
      'ROUGE-L',
      `finding F1 (${MAIN_FINDINGS.join(', ')})`,
      'normals with no hallucinated finding',
      'normals by report and image with no hallucinated finding',
    ]),
  ];
  for (const s of report.sets)
    for (const [name, scores] of [
      [report.model, s.model],
      ['baseline: most common training report', s.baseline],
    ] as const)
      lines.push(
        tableRow([
          s.label,
          name,
          scores.n,
          withCi(scores.bleu4),
          withCi(scores.rougeL),
          withCi(scores.findingF1),
          `${withCi(scores.normalsClean)} (of ${scores.normals})`,
          scores.imageNormalsClean
            ? `${withCi(scores.imageNormalsClean)} (of ${scores.imageNormals ?? 0})`
            : '—',
        ]),
      );
  lines.push(
    '',
    ...tableHeader([
      'finding',
      ...report.sets.map((s) => `${s.label}: reports with it / precision / recall / F1`),
    ]),
  );
  for (const f of RADIOGRAPH_FINDINGS) {
    const cells = report.sets.map((s) => {
      const p = s.model.perFinding[f];
      return p
        ? `${p.positives} / ${withCi(p.precision)} / ${withCi(p.recall)} / ${withCi(p.f1)}`
        : '0 / — / — / —';
    });
    lines.push(tableRow([f, ...cells]));
  }
  return lines;
}

/** The card section: what was measured, how, and the tables. */
export function renderDraftingSection(report: DraftingReport): string {
  return [
    SECTION_START,
    '## Drafting performance',
    '',
    "Measured by `npm run models:evaluate` (`npx tsx src/evaluation/evaluate-command.ts drafting`) on the held-out synthetic test sets: every test patient with a radiograph and a radiology report, the draft compared with that report's FINDINGS and IMPRESSION. BLEU-4 is corpus BLEU (no smoothing), ROUGE-L the mean LCS F-measure, both on lower-case words. Finding F1 runs the project's negation-aware finding extraction (`src/preprocess/text/radiograph-findings.ts` over `negation.ts`; affirmed or hedged mentions count, negated ones do not) on the draft and on the reference, micro-averaged over the main findings. A normal study is one whose reference asserts none of the findings. The synthetic report can miss a lesion the film shows (its radiologist is imperfect by design), and a draft that names such a lesion is not hallucinating: the last column counts only studies normal by the report and by the image's ground truth (no cardiomegaly, effusion or consolidation region recorded by the generator, `lesion_masks.npy`). Brackets: 95 % bootstrap percentile intervals over studies (1,000 resamples, seeded). Targets set in issue 20: finding F1 ≥ 0.8 and ≥ 95 % of normal studies without a hallucinated finding. Synthetic data only; not for clinical use.",
    '',
    ...renderDraftingTables(report),
    '',
    `Baseline text: “${report.baselineText}”`,
    SECTION_END,
  ].join('\n');
}

/** Writes the report into `draft-manifest.json#metrics.drafting` and the card, then refreshes the card's sha256. */
export async function publishDraftingReport(modelDir: string, report: DraftingReport): Promise<void> {
  const cardPath = join(modelDir, 'card.md');
  const card = readFileSync(cardPath, 'utf8');
  const section = renderDraftingSection(report);
  const start = card.indexOf(SECTION_START);
  const end = card.indexOf(SECTION_END);
  const next =
    start >= 0 && end > start
      ? card.slice(0, start) + section + card.slice(end + SECTION_END.length)
      : `${card.trimEnd()}\n\n${section}\n`;
  writeFileSync(cardPath, next);
  const manifestPath = join(modelDir, 'draft-manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    files: Record<string, string>;
    metrics?: Record<string, unknown>;
  };
  manifest.metrics = { ...(manifest.metrics ?? {}), drafting: report };
  manifest.files['card.md'] = await fileSha256(cardPath);
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
}
