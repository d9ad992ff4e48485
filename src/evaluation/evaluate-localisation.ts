import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MODALITY_ORDER,
  type LocalisationLesionMetrics,
  type LocalisationMetrics,
  type ManifestCoding,
  type ModelManifest,
} from '../contracts/manifest-types.js';
import { localisationOutput } from '../inference/manifest/localisation-output.js';
import { parseNpy } from '../inference/manifest/npy-format.js';
import { seedOf } from './bootstrap.js';
import { loadEvaluationDataset, type EvaluationDataset } from './evaluation-dataset.js';
import { EVALUATION_SPLITS, findModelFolders, refreshManifestFiles } from './evaluate-reference-models.js';
import {
  renderLocalisationSection,
  replaceLocalisationSection,
  type LocalisationReport,
  type LocalisationRow,
} from './localisation-card-section.js';
import {
  bootstrapMean,
  pointingHit,
  thresholdedIou,
  upsampleMap,
  type ImageRegion,
  type MeanWithInterval,
} from './localisation-metrics.js';
import { buildFeeds } from './model-feeds.js';
import type { ModelRunner } from './score-model.js';

/**
 * Which outcome's map each lesion type is scored against (issue 20): cardiomegaly and effusion are
 * radiograph signs of acute heart failure (SNOMED CT 56675007), consolidation of pneumonia
 * (233604007). Lesion types as in `dataset.json#lesionTypes` (the cohort's `LESION_TYPES`).
 */
export const LESION_OUTCOME: Readonly<Record<string, string>> = {
  cardiomegaly: '56675007',
  effusion: '56675007',
  consolidation: '233604007',
};

/**
 * The SNOMED CT image finding each lesion type is, as the manifest's `metrics.localisation` names
 * it: the serving side looks a finding's figures up by this code before it shows a map (issue 20).
 */
export const LESION_FINDING: Readonly<Record<string, ManifestCoding>> = {
  cardiomegaly: { system: 'http://snomed.info/sct', code: '8186001', display: 'Cardiomegaly' },
  effusion: { system: 'http://snomed.info/sct', code: '60046008', display: 'Pleural effusion' },
  consolidation: { system: 'http://snomed.info/sct', code: '95436008', display: 'Lung consolidation' },
};

/** The split whose figures go into the manifest: the same-site held-out test set. */
const MANIFEST_SPLIT = 'test';

/**
 * `metrics.localisation` of the manifest from the report's rows on {@link MANIFEST_SPLIT}: per
 * lesion, the model's pointing game and IoU and the prior's pointing game.
 */
export function localisationMetrics(
  report: LocalisationReport,
  outcomes: ModelManifest['outcomes'],
): LocalisationMetrics {
  const rows = report.rows.filter((r) => r.split === MANIFEST_SPLIT);
  const lesions: LocalisationLesionMetrics[] = [];
  for (const model of rows.filter((r) => r.map === 'model')) {
    const prior = rows.find((r) => r.map === 'prior' && r.lesion === model.lesion);
    const finding = LESION_FINDING[model.lesion];
    const outcome = outcomes.find((o) => o.coding.code === LESION_OUTCOME[model.lesion]);
    if (!prior || !finding || !outcome) continue;
    const bounds = ({ mean, lower, upper }: MeanWithInterval) => ({ mean, lower, upper });
    lesions.push({
      lesion: model.lesion,
      finding,
      outcome: outcome.coding.code,
      images: model.pointing.n,
      pointingGame: bounds(model.pointing),
      iou: bounds(model.iou),
      priorPointingGame: bounds(prior.pointing),
    });
  }
  return { split: MANIFEST_SPLIT, lesions };
}

/** Options of {@link evaluateLocalisation}. */
export interface EvaluateLocalisationOptions {
  modelsDir: string;
  /** Feature export with `train/`, `test/` (and `test-shifted/`), each with `lesion_masks.npy`. */
  datasetDir: string;
  only?: readonly string[];
  /** Opens a runner that returns the named output (the map) of one batch. */
  openRunner: (
    modelPath: string,
    manifest: ModelManifest,
    outputName: string,
  ) => Promise<ModelRunner & { release(): Promise<void> }>;
  log?: (line: string) => void;
}

/** Lesion masks of a split: [N, types, H, W] uint8. */
interface LesionMasks {
  types: string[];
  height: number;
  width: number;
  data: Uint8Array;
}

function loadLesionMasks(splitDir: string, types: string[]): LesionMasks | undefined {
  const path = join(splitDir, 'lesion_masks.npy');
  if (!existsSync(path)) return undefined;
  const array = parseNpy(readFileSync(path));
  const [, t, height, width] = array.shape;
  if (!(array.data instanceof Uint8Array) || t !== types.length || !height || !width)
    throw new Error(
      `${path}: expected uint8 [N, ${types.length}, H, W], got ${array.dtype} [${array.shape.join(', ')}]`,
    );
  return { types, height, width, data: array.data };
}

const IMAGE = MODALITY_ORDER.indexOf('image');

function imagePresent(dataset: EvaluationDataset, row: number): boolean {
  return (dataset.modalityMask[row * MODALITY_ORDER.length + IMAGE] ?? 0) > 0;
}

function maskOf(masks: LesionMasks, row: number, type: number): Uint8Array {
  const cells = masks.height * masks.width;
  const start = (row * masks.types.length + type) * cells;
  return masks.data.subarray(start, start + cells);
}

/**
 * The baseline map of a lesion type: the mean mask over the training films that show it (where
 * that lesion usually is), the same for every film.
 */
function priorMap(train: EvaluationDataset, masks: LesionMasks, type: number): Float32Array {
  const out = new Float32Array(masks.height * masks.width);
  let n = 0;
  for (let row = 0; row < train.size; row++) {
    const mask = maskOf(masks, row, type);
    if (!imagePresent(train, row) || !mask.some((v) => v > 0)) continue;
    for (let i = 0; i < out.length; i++) out[i]! += mask[i]!;
    n++;
  }
  return out.map((v) => v / Math.max(n, 1));
}

/**
 * Issue 20: for each model with a `localisation` output, the pointing game and the IoU of the
 * thresholded map per lesion type on the held-out splits (`localisation-metrics.ts`), next to the
 * training-prior baseline, with 95 % bootstrap intervals; written into the card's "Localisation"
 * section and, for the same-site test split, the manifest's `metrics.localisation` (what serving
 * gates the map on; the manifest's sha256 list refreshed). Skips, with a log line, an export without
 * lesion masks (made before they existed). Returns the reports by model name.
 */
export async function evaluateLocalisation(
  options: EvaluateLocalisationOptions,
): Promise<Record<string, LocalisationReport>> {
  const log = options.log ?? (() => undefined);
  const reports: Record<string, LocalisationReport> = {};
  const models = findModelFolders(options.modelsDir).filter(
    (m) => localisationOutput(m.manifest) && (!options.only || options.only.includes(m.name)),
  );
  if (models.length === 0) return reports;
  const dataset = JSON.parse(readFileSync(join(options.datasetDir, 'dataset.json'), 'utf8')) as {
    lesionTypes?: string[];
  };
  const types = dataset.lesionTypes ?? [];
  const trainMasks = types.length ? loadLesionMasks(join(options.datasetDir, 'train'), types) : undefined;
  if (!trainMasks) {
    log(
      `skipped: ${options.datasetDir} has no lesion masks; re-export with models/training/export-features.ts`,
    );
    return reports;
  }
  const train = loadEvaluationDataset(join(options.datasetDir, 'train'));
  const priors = types.map((_, t) => priorMap(train, trainMasks, t));
  for (const model of models) {
    const output = localisationOutput(model.manifest)!;
    // [batch, channels, h, w]; channel k is the outcome with index k (schema: channels = outcomes).
    const [, channels = 0, mapHeight = 0, mapWidth = 0] = output.shape;
    const { height, width } = trainMasks;
    // Cohort radiographs are square and so is the model grid: the image fills it (no padding).
    const region: ImageRegion = { x0: 0, y0: 0, width, height };
    const runner = await options.openRunner(join(model.folder, 'model.onnx'), model.manifest, output.name);
    const rows: LocalisationRow[] = [];
    try {
      for (const split of EVALUATION_SPLITS) {
        const splitDir = join(options.datasetDir, split);
        const masks = existsSync(splitDir) ? loadLesionMasks(splitDir, types) : undefined;
        if (!masks) continue;
        const data = loadEvaluationDataset(splitDir);
        const imaged = Array.from({ length: data.size }, (_, r) => r).filter((r) => imagePresent(data, r));
        const maps = new Map<number, Float32Array>();
        for (let start = 0; start < imaged.length; start += 256) {
          const batch = imaged.slice(start, start + 256);
          const values = await runner.run(buildFeeds(model.manifest, data, batch));
          const cells = mapHeight * mapWidth;
          batch.forEach((row, b) =>
            maps.set(row, values.slice(b * channels * cells, (b + 1) * channels * cells)),
          );
        }
        types.forEach((lesion, t) => {
          const code = LESION_OUTCOME[lesion];
          const outcome = model.manifest.outcomes.find((o) => o.coding.code === code);
          if (!outcome) return;
          const withLesion = imaged.filter((r) => maskOf(masks, r, t).some((v) => v > 0));
          if (withLesion.length === 0) return; // nothing to point at on this split
          const scores = {
            model: { hits: [] as number[], ious: [] as number[] },
            prior: { hits: [] as number[], ious: [] as number[] },
          };
          const priorUp = priors[t]!;
          for (const row of withLesion) {
            const mask = maskOf(masks, row, t);
            const cells = mapHeight * mapWidth;
            const all = maps.get(row)!;
            const own = all.subarray(outcome.index * cells, (outcome.index + 1) * cells);
            const up = upsampleMap(own, mapWidth, mapHeight, width, height);
            scores.model.hits.push(pointingHit(up, mask, width, region));
            scores.model.ious.push(thresholdedIou(up, mask, width, region));
            scores.prior.hits.push(pointingHit(priorUp, mask, width, region));
            scores.prior.ious.push(thresholdedIou(priorUp, mask, width, region));
          }
          for (const map of ['model', 'prior'] as const) {
            const label = `localisation|${model.name}|${split}|${lesion}|${map}`;
            rows.push({
              split,
              lesion,
              outcome: outcome.coding.display,
              map,
              pointing: bootstrapMean(scores[map].hits, seedOf(`${label}|pointing`)),
              iou: bootstrapMean(scores[map].ious, seedOf(`${label}|iou`)),
            });
          }
        });
      }
    } finally {
      await runner.release();
    }
    const report: LocalisationReport = { mapSize: [mapHeight, mapWidth], inputSize: [height, width], rows };
    reports[model.name] = report;
    const section = renderLocalisationSection(report);
    const cardPath = join(model.folder, 'card.md');
    writeFileSync(cardPath, replaceLocalisationSection(readFileSync(cardPath, 'utf8'), section));
    const manifestPath = join(model.folder, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
    const metrics = { ...manifest.metrics, localisation: localisationMetrics(report, manifest.outcomes) };
    writeFileSync(
      manifestPath,
      `${JSON.stringify(refreshManifestFiles(model.folder, { ...manifest, metrics }), null, 2)}\n`,
    );
    log(`${model.name}@${model.version}:\n${section}`);
  }
  return reports;
}
