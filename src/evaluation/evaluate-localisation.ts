import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MODALITY_ORDER,
  type LocalisationLesionMetrics,
  type LocalisationMetrics,
  type ManifestCoding,
  type ModelManifest,
} from '../contracts/manifest-types.js';
import { findingOutputs, localisationOutput } from '../inference/manifest/localisation-output.js';
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
import { HALF_MAX_PROBABILITY, HALF_RANGE, type RegionRule } from '../raster/map-to-source.js';
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

/** Table order of the maps within a lesion. */
const MAP_ORDER: readonly LocalisationRow['map'][] = ['finding-map', 'outcome-map', 'prior'];

/** The split whose figures go into the manifest: the same-site held-out test set. */
const MANIFEST_SPLIT = 'test';

/**
 * `metrics.localisation` of the manifest from the report's rows on {@link MANIFEST_SPLIT}: per
 * lesion and map, the map's pointing game and IoU, the prior's pointing game, and for a finding
 * map the presence call's precision and recall. An outcome map's entry names its outcome; a
 * finding map's names none (its channel is the finding).
 */
export function localisationMetrics(
  report: LocalisationReport,
  manifest: Pick<ModelManifest, 'outcomes'>,
): LocalisationMetrics {
  const rows = report.rows.filter((r) => r.split === MANIFEST_SPLIT);
  const lesions: LocalisationLesionMetrics[] = [];
  const bounds = ({ mean, lower, upper }: MeanWithInterval) => ({ mean, lower, upper });
  for (const model of rows.filter((r) => r.map !== 'prior')) {
    const prior = rows.find((r) => r.map === 'prior' && r.lesion === model.lesion);
    const finding = LESION_FINDING[model.lesion];
    if (!prior || !finding) continue;
    const outcome =
      model.map === 'outcome-map'
        ? manifest.outcomes.find((o) => o.coding.code === LESION_OUTCOME[model.lesion])
        : undefined;
    if (model.map === 'outcome-map' && !outcome) continue;
    lesions.push({
      lesion: model.lesion,
      finding,
      ...(outcome ? { outcome: outcome.coding.code } : {}),
      images: model.pointing.n,
      pointingGame: bounds(model.pointing),
      iou: bounds(model.iou),
      priorPointingGame: bounds(prior.pointing),
      ...(model.presence &&
      Number.isFinite(model.presence.precision.mean) &&
      Number.isFinite(model.presence.recall.mean)
        ? {
            presence: {
              threshold: model.presence.threshold,
              precision: bounds(model.presence.precision),
              recall: bounds(model.presence.recall),
            },
          }
        : {}),
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

/** One kind of map a model outputs, and how to score it against a lesion type. */
interface MapSource {
  kind: 'outcome-map' | 'finding-map';
  /** The output holding the maps [batch, channels, h, w]. */
  output: string;
  channels: number;
  height: number;
  width: number;
  /** The channel scored against a lesion type, or `undefined` when none is. */
  channelOf(lesion: string): number | undefined;
  /** Outcome maps: the display of the outcome whose map is scored. */
  outcome?: (lesion: string) => string;
  /** How the region is cut from the map, as serving cuts the SEG's. */
  region: RegionRule;
  /** Finding maps: the presence output [batch, channels] and each channel's calling threshold. */
  presence?: { output: string; threshold(channel: number): number };
}

/**
 * The maps a manifest declares: the outcome class-activation map (`localisation`; cardiomegaly and
 * effusion scored against the acute heart failure channel, consolidation against pneumonia) and
 * the finding localiser's map (`finding-map`; each lesion against its own finding's channel).
 */
function mapSources(manifest: ModelManifest): MapSource[] {
  const sources: MapSource[] = [];
  const outcomeMap = localisationOutput(manifest);
  if (outcomeMap) {
    const [, channels = 0, height = 0, width = 0] = outcomeMap.shape;
    const outcomeOf = (lesion: string) =>
      manifest.outcomes.find((o) => o.coding.code === LESION_OUTCOME[lesion]);
    sources.push({
      kind: 'outcome-map',
      output: outcomeMap.name,
      region: HALF_RANGE,
      channels,
      height,
      width,
      channelOf: (lesion) => outcomeOf(lesion)?.index,
      outcome: (lesion) => outcomeOf(lesion)?.coding.display ?? '',
    });
  }
  const finding = findingOutputs(manifest);
  if (finding) {
    const [, channels = 0, height = 0, width = 0] = finding.map.shape;
    const specs = manifest.imageFindings ?? [];
    sources.push({
      kind: 'finding-map',
      output: finding.map.name,
      region: HALF_MAX_PROBABILITY,
      channels,
      height,
      width,
      channelOf: (lesion) => specs.find((f) => f.coding.code === LESION_FINDING[lesion]?.code)?.index,
      presence: {
        output: finding.probabilities.name,
        threshold: (channel) => specs.find((f) => f.index === channel)?.threshold ?? 0.5,
      },
    });
  }
  return sources;
}

/** Each runner's output for `rows`, concatenated in row order, batches of 256. */
async function runBatches(
  runners: readonly ModelRunner[],
  manifest: ModelManifest,
  data: EvaluationDataset,
  rows: readonly number[],
): Promise<Float32Array[]> {
  const parts: Float32Array[][] = runners.map(() => []);
  for (let start = 0; start < rows.length; start += 256) {
    // Fresh feeds per run: a runner may transfer their buffers to its worker thread.
    for (const [i, runner] of runners.entries())
      parts[i]!.push(await runner.run(buildFeeds(manifest, data, rows.slice(start, start + 256))));
  }
  return parts.map((chunks) => {
    const out = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  });
}

/**
 * Precision and recall of a presence call over every imaged film, with bootstrap intervals:
 * precision over the films called, recall over the films that show the finding.
 */
function presenceFigures(
  called: readonly boolean[],
  present: readonly boolean[],
  threshold: number,
  label: string,
): NonNullable<LocalisationRow['presence']> {
  const precision = called.flatMap((c, i) => (c ? [present[i] ? 1 : 0] : []));
  const recall = present.flatMap((p, i) => (p ? [called[i] ? 1 : 0] : []));
  return {
    threshold,
    precision: bootstrapMean(precision, seedOf(`${label}|precision`)),
    recall: bootstrapMean(recall, seedOf(`${label}|recall`)),
  };
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
    (m) => mapSources(m.manifest).length > 0 && (!options.only || options.only.includes(m.name)),
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
    const { height, width } = trainMasks;
    // Cohort radiographs are square and so is the model grid: the image fills it (no padding).
    const region: ImageRegion = { x0: 0, y0: 0, width, height };
    const rows: LocalisationRow[] = [];
    const maps = mapSources(model.manifest);
    const mapSizes: LocalisationReport['mapSizes'] = {};
    for (const source of maps) {
      mapSizes[source.kind] = [source.height, source.width];
      const runners = await Promise.all(
        [source.output, ...(source.presence ? [source.presence.output] : [])].map((name) =>
          options.openRunner(join(model.folder, 'model.onnx'), model.manifest, name),
        ),
      );
      try {
        for (const split of EVALUATION_SPLITS) {
          const splitDir = join(options.datasetDir, split);
          const masks = existsSync(splitDir) ? loadLesionMasks(splitDir, types) : undefined;
          if (!masks) continue;
          const data = loadEvaluationDataset(splitDir);
          const imaged = Array.from({ length: data.size }, (_, r) => r).filter((r) => imagePresent(data, r));
          const outputs = await runBatches(runners, model.manifest, data, imaged);
          const cells = source.height * source.width;
          types.forEach((lesion, t) => {
            const channel = source.channelOf(lesion);
            if (channel === undefined) return;
            // Per imaged film (position i in `imaged`, the row order of `outputs`): does it show the lesion?
            const shows = imaged.map((r) => maskOf(masks, r, t).some((v) => v > 0));
            if (!shows.includes(true)) return; // nothing to point at on this split
            // The prior is the same map for every source: scored once per split and lesion.
            const priorDone = rows.some((r) => r.map === 'prior' && r.split === split && r.lesion === lesion);
            const scores = {
              model: { hits: [] as number[], ious: [] as number[] },
              prior: { hits: [] as number[], ious: [] as number[] },
            };
            const priorUp = priors[t]!;
            imaged.forEach((row, i) => {
              if (!shows[i]) return;
              const mask = maskOf(masks, row, t);
              const at = (i * source.channels + channel) * cells;
              const up = upsampleMap(
                outputs[0]!.subarray(at, at + cells),
                source.width,
                source.height,
                width,
                height,
              );
              scores.model.hits.push(pointingHit(up, mask, width, region));
              scores.model.ious.push(thresholdedIou(up, mask, width, region, source.region));
              if (priorDone) return;
              scores.prior.hits.push(pointingHit(priorUp, mask, width, region));
              scores.prior.ious.push(thresholdedIou(priorUp, mask, width, region));
            });
            const label = (map: string) => `localisation|${model.name}|${split}|${lesion}|${map}`;
            const presence = source.presence
              ? presenceFigures(
                  imaged.map(
                    (_, i) =>
                      outputs[1]![i * source.channels + channel]! >= source.presence!.threshold(channel),
                  ),
                  shows,
                  source.presence.threshold(channel),
                  label(source.kind),
                )
              : undefined;
            for (const map of priorDone ? [source.kind] : ([source.kind, 'prior'] as const)) {
              rows.push({
                split,
                lesion,
                ...(source.outcome ? { outcome: source.outcome(lesion) } : {}),
                map,
                pointing: bootstrapMean(
                  scores[map === 'prior' ? 'prior' : 'model'].hits,
                  seedOf(`${label(map)}|pointing`),
                ),
                iou: bootstrapMean(
                  scores[map === 'prior' ? 'prior' : 'model'].ious,
                  seedOf(`${label(map)}|iou`),
                ),
                ...(map !== 'prior' && presence ? { presence } : {}),
              });
            }
          });
        }
      } finally {
        await Promise.all(runners.map((r) => r.release()));
      }
    }
    // One block per test set and lesion: the finding map, the outcome map, then their baseline.
    const order = (r: LocalisationRow) => [
      EVALUATION_SPLITS.indexOf(r.split as (typeof EVALUATION_SPLITS)[number]),
      types.indexOf(r.lesion),
      MAP_ORDER.indexOf(r.map),
    ];
    rows.sort((a, b) => {
      const [x, y] = [order(a), order(b)];
      return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
    });
    const report: LocalisationReport = { mapSizes, inputSize: [trainMasks.height, trainMasks.width], rows };
    reports[model.name] = report;
    const section = renderLocalisationSection(report);
    const cardPath = join(model.folder, 'card.md');
    writeFileSync(cardPath, replaceLocalisationSection(readFileSync(cardPath, 'utf8'), section));
    const manifestPath = join(model.folder, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
    const metrics = { ...manifest.metrics, localisation: localisationMetrics(report, manifest) };
    writeFileSync(
      manifestPath,
      `${JSON.stringify(refreshManifestFiles(model.folder, { ...manifest, metrics }), null, 2)}\n`,
    );
    log(`${model.name}@${model.version}:\n${section}`);
  }
  return reports;
}
