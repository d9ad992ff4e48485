import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MODALITY_ORDER,
  type ModalityName,
  type ModelManifest,
  type OodDetector,
  type OutOfDistributionSpec,
} from '../contracts/manifest-types.js';
import { loadEvaluationDataset, type EvaluationDataset } from './evaluation-dataset.js';
import { findModelFolders, refreshManifestFiles } from './evaluate-reference-models.js';
import { modelModalities } from './model-feeds.js';
import {
  renderOodSection,
  replaceOodSection,
  type OodModalityReport,
  type OodReport,
} from './ood-card-section.js';
import { fitDetector, rowsWithModality, scoresOf } from './ood-detector-fit.js';
import { DATASET_SHIFTS, type DatasetShift } from './ood-shifts.js';

/** Default false-alarm rate the thresholds are set to on held-out in-distribution patients. */
export const DEFAULT_OOD_FALSE_ALARM_RATE = 0.01;

/** Options of {@link evaluateOutOfDistribution}. */
export interface EvaluateOodOptions {
  modelsDir: string;
  /** Feature export folder holding `train/`, `validation/`, `test/` and `dataset.json`. */
  datasetDir: string;
  only?: readonly string[];
  /** Target false-alarm rate (default 1 %). */
  falseAlarmRate?: number;
  shifts?: readonly DatasetShift[];
  log?: (line: string) => void;
}

function flaggedCount(scores: readonly number[], threshold: number): number {
  return scores.filter((s) => !Number.isFinite(s) || s > threshold).length;
}

/**
 * Issue #17: fit each model's out-of-distribution detectors and measure them, deterministically
 * (no randomness but the shifts' fixed seeds):
 * 1. statistics' centre and covariance on the training split, threshold on the validation split at
 *    the target false-alarm rate — written into `manifest.outOfDistribution`, which the server
 *    applies to every input (`src/preprocess/ood/`);
 * 2. false-alarm rate on the held-out test split and detection rate on shifted copies of it
 *    (`ood-shifts.ts`) — written into `outOfDistribution.evaluation` and the card's
 *    out-of-distribution section; the manifest's sha256 list is refreshed for the new card.
 */
export async function evaluateOutOfDistribution(
  options: EvaluateOodOptions,
): Promise<Record<string, OodReport>> {
  const rate = options.falseAlarmRate ?? DEFAULT_OOD_FALSE_ALARM_RATE;
  const log = options.log ?? (() => undefined);
  const shifts = options.shifts ?? DATASET_SHIFTS;
  const [train, validation, test] = ['train', 'validation', 'test'].map((split) =>
    loadEvaluationDataset(join(options.datasetDir, split)),
  ) as [EvaluationDataset, EvaluationDataset, EvaluationDataset];
  const shifted = new Map<DatasetShift, EvaluationDataset>();
  const reports: Record<string, OodReport> = {};
  for (const model of findModelFolders(options.modelsDir).filter(
    (m) => !options.only || options.only.includes(m.name),
  )) {
    const manifest = JSON.parse(readFileSync(join(model.folder, 'manifest.json'), 'utf8')) as ModelManifest;
    const detectors: Partial<Record<ModalityName, OodDetector>> = {};
    const report: OodReport = { targetFalseAlarmRate: rate, modalities: {} };
    let referencePatients = 0;
    let calibrationPatients = 0;
    for (const modality of modelModalities(manifest)) {
      const reference = rowsWithModality(train, modality, MODALITY_ORDER);
      const heldOut = rowsWithModality(validation, modality, MODALITY_ORDER);
      const detector = fitDetector(
        manifest,
        modality,
        { dataset: train, rows: reference },
        { dataset: validation, rows: heldOut },
        rate,
      );
      detectors[modality] = detector;
      const testRows = rowsWithModality(test, modality, MODALITY_ORDER);
      const testFlagged = flaggedCount(
        scoresOf(manifest, modality, detector, test, testRows),
        detector.threshold,
      );
      const entry: OodModalityReport = {
        method: detector.method,
        threshold: detector.threshold,
        referencePatients: reference.length,
        calibrationPatients: heldOut.length,
        test: {
          patients: testRows.length,
          flagged: testFlagged,
          falseAlarmRate: testRows.length ? testFlagged / testRows.length : 0,
        },
        shifted: [],
      };
      referencePatients = Math.max(referencePatients, reference.length);
      calibrationPatients = Math.max(calibrationPatients, heldOut.length);
      for (const shift of shifts.filter((s) => s.modality === modality)) {
        let data = shifted.get(shift);
        if (!data) {
          data = shift.apply(test, manifest.preprocessing.tabular?.features ?? []);
          shifted.set(shift, data);
        }
        const rows = rowsWithModality(data, modality, MODALITY_ORDER);
        const flagged = flaggedCount(scoresOf(manifest, modality, detector, data, rows), detector.threshold);
        entry.shifted.push({
          name: shift.name,
          description: shift.description,
          patients: rows.length,
          flagged,
          detectionRate: rows.length ? flagged / rows.length : 0,
        });
      }
      report.modalities[modality] = entry;
      log(
        `${model.name}/${model.version} ${modality}: threshold ${detector.threshold.toFixed(3)}, false alarms ${(entry.test.falseAlarmRate * 100).toFixed(1)} % on ${testRows.length} held-out test patients; ` +
          entry.shifted.map((s) => `${s.name} detected ${(s.detectionRate * 100).toFixed(1)} %`).join(', '),
      );
    }
    reports[model.name] = report;
    const section: OutOfDistributionSpec = {
      targetFalseAlarmRate: rate,
      calibration:
        `statistics and feature ranges fitted on the training split (${referencePatients} patients), ` +
        `thresholds at ${rate * 100} % false alarms on the validation split ` +
        `(${calibrationPatients} patients) of the synthetic cohort the model was trained on (src/sandbox/cohort); every patient is synthetic`,
      modalities: detectors,
      evaluation: report as unknown as Record<string, unknown>,
    };
    const cardPath = join(model.folder, 'card.md');
    writeFileSync(cardPath, replaceOodSection(readFileSync(cardPath, 'utf8'), renderOodSection(report)));
    const updated = refreshManifestFiles(model.folder, { ...manifest, outOfDistribution: section });
    writeFileSync(join(model.folder, 'manifest.json'), `${JSON.stringify(updated, null, 2)}\n`);
  }
  return reports;
}
