import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModalityName, ModelManifest } from '../contracts/manifest-types.js';
import { MODALITY_ORDER } from '../contracts/manifest-types.js';
import { calibrationBins, rocCurve } from './binary-metrics.js';
import { loadEvaluationDataset, type EvaluationDataset } from './evaluation-dataset.js';
import { renderMetricsSection, replaceMetricsSection, type ModelMetricsReport } from './metrics-card-section.js';
import { modelModalities } from './model-feeds.js';
import { outcomeMetrics, selectPositions, subgroupPositions } from './outcome-metrics.js';
import { calibrationPlotPng, rocPlotPng } from './plot-png.js';
import { fusionVersusBestSingle, modelStatistics } from './model-statistics.js';
import type { ModelRunner } from './score-model.js';
import { scoreModel } from './score-model.js';

/** A model version folder found under the models directory. */
export interface ModelFolder {
  name: string;
  version: string;
  folder: string;
  manifest: ModelManifest;
}

/** Options of {@link evaluateReferenceModels}. */
export interface EvaluateReferenceModelsOptions {
  /** `models/`: every `<name>/<version>/manifest.json` under it is evaluated. */
  modelsDir: string;
  /**
   * Feature export folder holding `test/`, optionally `test-shifted/`, and `dataset.json`
   * (models/training/.data/cohort).
   */
  datasetDir: string;
  /** Opens a runner for a `model.onnx` path and its manifest (`openOnnxRunner` in production). */
  openRunner: (modelPath: string, manifest: ModelManifest) => Promise<ModelRunner & { release(): Promise<void> }>;
  /** Only these model names (default: all). */
  only?: readonly string[];
  /** Progress lines (model names and counts only). */
  log?: (line: string) => void;
}

/** Discover `<modelsDir>/<name>/<version>/manifest.json`, skipping `training/`. */
export function findModelFolders(modelsDir: string): ModelFolder[] {
  const out: ModelFolder[] = [];
  for (const name of readdirSync(modelsDir).sort()) {
    if (name === 'training' || name.startsWith('.')) continue;
    const dir = join(modelsDir, name);
    if (!existsSync(dir) || !readdirSync(dir, { withFileTypes: true }).length) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const manifestPath = join(dir, entry.name, 'manifest.json');
      if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ModelManifest;
      out.push({ name, version: entry.name, folder: join(dir, entry.name), manifest });
    }
  }
  return out;
}

/** Whether the model fuses modalities (it takes the `modality-mask` input). */
export function isFusionModel(manifest: ModelManifest): boolean {
  return manifest.inputs.some((i) => i.role === 'modality-mask');
}

function rowsWith(dataset: EvaluationDataset, modalities: readonly ModalityName[]): number[] {
  const rows: number[] = [];
  for (let row = 0; row < dataset.size; row++) {
    if (modalities.every((m) => (dataset.modalityMask[row * 4 + MODALITY_ORDER.indexOf(m)] ?? 0) > 0)) rows.push(row);
  }
  return rows;
}

/** Best single-modality AUROC per outcome and whether the fusion model beats it. */
function compareWithSingles(
  fusion: string,
  singles: readonly string[],
  aurocByModel: Record<string, Record<string, number | null>>,
  manifest: ModelManifest,
): { bestSingleModality: Record<string, { model: string; auroc: number | null }>; fusionBeatsBestSingleModality: Record<string, boolean> } {
  const bestSingleModality: Record<string, { model: string; auroc: number | null }> = {};
  const fusionBeatsBestSingleModality: Record<string, boolean> = {};
  for (const o of manifest.outcomes) {
    const code = o.coding.code;
    let top: { model: string; auroc: number | null } = { model: '', auroc: null };
    for (const s of singles) {
      const a = aurocByModel[s]?.[code] ?? null;
      if (a !== null && (top.auroc === null || a > top.auroc)) top = { model: s, auroc: a };
    }
    bestSingleModality[code] = top;
    const f = aurocByModel[fusion]?.[code] ?? null;
    fusionBeatsBestSingleModality[code] = f !== null && (top.auroc === null || f > top.auroc);
  }
  return { bestSingleModality, fusionBeatsBestSingleModality };
}

/** Rewrite `manifest.files` with the sha256 of every file in the folder except manifest.json. */
export function refreshManifestFiles(folder: string, manifest: ModelManifest): ModelManifest {
  const files: Record<string, string> = {};
  for (const file of readdirSync(folder).sort()) {
    if (file === 'manifest.json') continue;
    files[file] = createHash('sha256').update(readFileSync(join(folder, file))).digest('hex');
  }
  return { ...manifest, files };
}

/** The held-out splits: the same-site test set and, when exported, the shifted-site one (issue 19). */
export const EVALUATION_SPLITS = ['test', 'test-shifted'] as const;

/**
 * Evaluate every shipped model on the held-out split(s), then write the figures into each model's
 * `manifest.json` (`metrics`; the shifted-site figures in `metrics.shiftedSite`), the performance
 * section of `card.md`, and `roc.png` / `calibration.png` (same-site test set), and refresh the
 * manifest's sha256 list. Returns the reports by model name.
 */
export async function evaluateReferenceModels(options: EvaluateReferenceModelsOptions): Promise<Record<string, ModelMetricsReport>> {
  const log = options.log ?? (() => undefined);
  const datasetInfo = JSON.parse(readFileSync(join(options.datasetDir, 'dataset.json'), 'utf8')) as { description?: string };
  const description = datasetInfo.description ?? 'synthetic cohort';
  const models = findModelFolders(options.modelsDir).filter((m) => !options.only || options.only.includes(m.name));
  // Single-modality models first, so the fusion models can be compared against them.
  const ordered = [...models.filter((m) => !isFusionModel(m.manifest)), ...models.filter((m) => isFusionModel(m.manifest))];
  const reports = await evaluateSplit(options, ordered, 'test', description, log);
  const shiftedDir = join(options.datasetDir, 'test-shifted');
  if (existsSync(join(shiftedDir, 'labels.npy'))) {
    // Another site, never used for training or tuning: the same tables, no plots.
    const shifted = await evaluateSplit(options, ordered, 'test-shifted', description, log);
    for (const [name, report] of Object.entries(shifted)) {
      const { plots: _plots, ...rest } = report;
      const target = reports[name];
      if (target) target.shiftedSite = rest;
    }
  }
  for (const model of ordered) {
    const report = reports[model.name] as ModelMetricsReport;
    const cardPath = join(model.folder, 'card.md');
    writeFileSync(cardPath, replaceMetricsSection(readFileSync(cardPath, 'utf8'), renderMetricsSection(model.manifest, report)));
    const updated = refreshManifestFiles(model.folder, { ...model.manifest, metrics: report as unknown as Record<string, unknown> });
    writeFileSync(join(model.folder, 'manifest.json'), `${JSON.stringify(updated, null, 2)}\n`);
  }
  return reports;
}

/**
 * Every model's report on one split (`test` also writes the ROC and calibration plots). Single
 * models come first in `ordered` so the fusion models are compared against them.
 */
async function evaluateSplit(
  options: EvaluateReferenceModelsOptions,
  ordered: readonly ModelFolder[],
  split: (typeof EVALUATION_SPLITS)[number],
  description: string,
  log: (line: string) => void,
): Promise<Record<string, ModelMetricsReport>> {
  const dataset = loadEvaluationDataset(join(options.datasetDir, split));
  const allPresentRows = rowsWith(dataset, MODALITY_ORDER);
  const reports: Record<string, ModelMetricsReport> = {};
  const allPresentAuroc: Record<string, Record<string, number | null>> = {};
  // Single-modality models over the whole test split: their own probability where their
  // modality is present, else their mean probability (what a deployment of that model alone
  // could say about a patient without the modality: nothing patient-specific).
  const fullScores: Record<string, Float32Array> = {};
  const allPresentScores: Record<string, Float32Array> = {};

  const evaluateOne = async (model: ModelFolder): Promise<ModelMetricsReport> => {
    const { manifest } = model;
    const requires = isFusionModel(manifest) ? manifest.applicability.requires : modelModalities(manifest);
    const rows = rowsWith(dataset, requires);
    const runner = await options.openRunner(join(model.folder, 'model.onnx'), manifest);
    try {
      const k = manifest.outcomes.length;
      const probabilities = await scoreModel(runner, manifest, dataset, rows);
      const subgroups: Record<string, ReturnType<typeof outcomeMetrics>> = {};
      const groupPositions = subgroupPositions(dataset, rows);
      for (const [group, positions] of Object.entries(groupPositions)) {
        const subset = selectPositions(rows, probabilities, k, positions);
        subgroups[group] = outcomeMetrics(manifest, dataset, subset.rows, subset.probabilities);
      }
      if (!isFusionModel(manifest)) {
        const full = new Float32Array(dataset.size * k);
        for (let j = 0; j < k; j++) {
          let sum = 0;
          for (let r = 0; r < rows.length; r++) sum += probabilities[r * k + j] ?? 0;
          const mean = rows.length ? sum / rows.length : 0;
          for (let row = 0; row < dataset.size; row++) full[row * k + j] = mean;
        }
        rows.forEach((row, r) => full.set(probabilities.subarray(r * k, (r + 1) * k), row * k));
        fullScores[model.name] = full;
      }
      const allPresent = await scoreModel(runner, manifest, dataset, allPresentRows);
      const allModalitiesPresent = outcomeMetrics(manifest, dataset, allPresentRows, allPresent);
      allPresentScores[model.name] = allPresent;
      allPresentAuroc[model.name] = Object.fromEntries(Object.entries(allModalitiesPresent).map(([code, m]) => [code, m.auroc]));
      const report: ModelMetricsReport = {
        dataset: { description, split, patients: dataset.size },
        population: { patients: rows.length, requires: [...requires] },
        overall: outcomeMetrics(manifest, dataset, rows, probabilities),
        subgroups,
        allModalitiesPresent,
        plots: { roc: 'roc.png', calibration: 'calibration.png' },
        statistics: modelStatistics(model.name, manifest, dataset, rows, probabilities, groupPositions),
      };
      if (isFusionModel(manifest)) {
        report.modalityRemoved = {};
        for (const modality of modelModalities(manifest)) {
          const removed = await scoreModel(runner, manifest, dataset, rows, { removed: [modality] });
          report.modalityRemoved[modality] = outcomeMetrics(manifest, dataset, rows, removed);
        }
      }
      const labelsOf = (index: number): number[] => rows.map((row) => dataset.labels[row * dataset.outcomes + index] ?? 0);
      const scoresOf = (index: number): number[] => rows.map((_, r) => probabilities[r * k + index] ?? 0);
      if (split === 'test') {
        writeFileSync(join(model.folder, 'roc.png'), rocPlotPng(manifest.outcomes.map((o) => rocCurve(labelsOf(o.index), scoresOf(o.index)))));
        writeFileSync(
          join(model.folder, 'calibration.png'),
          calibrationPlotPng(manifest.outcomes.map((o) => calibrationBins(labelsOf(o.index), scoresOf(o.index)))),
        );
      }
      log(`evaluated ${model.name}/${model.version} on ${rows.length} ${split} patients`);
      return report;
    } finally {
      await runner.release();
    }
  };

  for (const model of ordered) reports[model.name] = await evaluateOne(model);

  for (const model of ordered) {
    const report = reports[model.name] as ModelMetricsReport;
    if (isFusionModel(model.manifest)) {
      const singles = ordered.filter((m) => !isFusionModel(m.manifest) && m.manifest.outcomes.length === model.manifest.outcomes.length);
      const aurocByModel: Record<string, Record<string, number | null>> = {};
      for (const s of singles) aurocByModel[s.name] = allPresentAuroc[s.name] ?? {};
      aurocByModel[model.name] = allPresentAuroc[model.name] ?? {};
      const { bestSingleModality: best, fusionBeatsBestSingleModality: beats } = compareWithSingles(
        model.name,
        singles.map((s) => s.name),
        aurocByModel,
        model.manifest,
      );
      const population = rowsWith(dataset, model.manifest.applicability.requires);
      const fullAuroc: Record<string, Record<string, number | null>> = {};
      for (const s of singles) {
        const scores = fullScores[s.name];
        if (!scores) continue;
        const k = s.manifest.outcomes.length;
        const selected = new Float32Array(population.length * k);
        population.forEach((row, r) => selected.set(scores.subarray(row * k, (row + 1) * k), r * k));
        fullAuroc[s.name] = Object.fromEntries(Object.entries(outcomeMetrics(s.manifest, dataset, population, selected)).map(([code, m]) => [code, m.auroc]));
      }
      fullAuroc[model.name] = Object.fromEntries(Object.entries(report.overall).map(([code, m]) => [code, m.auroc]));
      const full = compareWithSingles(model.name, singles.map((s) => s.name), fullAuroc, model.manifest);
      report.comparison = {
        patients: allPresentRows.length,
        aurocByModel,
        bestSingleModality: best,
        fusionBeatsBestSingleModality: beats,
        wholePopulation: { patients: population.length, aurocByModel: fullAuroc, ...full },
      };
      if (report.statistics) {
        const singleScores = Object.fromEntries(
          singles.map((s) => [s.name, { manifest: s.manifest, probabilities: allPresentScores[s.name] ?? new Float32Array(0) }]),
        );
        report.statistics.fusionVersusBestSingle = fusionVersusBestSingle(
          model.name,
          model.manifest,
          dataset,
          allPresentRows,
          allPresentScores[model.name] ?? new Float32Array(0),
          singleScores,
          best,
        );
      }
    }
  }
  return reports;
}
