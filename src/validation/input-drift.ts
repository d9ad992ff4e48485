import type { ModalityName } from '../contracts/manifest-types.js';
import type { FeatureDrift, InputSummary, ModalityRates } from '../contracts/model-monitoring.js';
import type { ServedModel } from '../contracts/served-model.js';
import { ROLE_MODALITY } from '../preprocess/preprocess-record.js';

/** Input drift of every served model over the drift window. */
export interface InputDrift {
  /** Per model: assessments in the window. */
  windowAssessments: Record<string, number>;
  drift: FeatureDrift[];
  modalities: ModalityRates[];
}

function meanOf(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Input drift per tabular feature and per modality summary statistic, window against training.
 *
 * The measure is the standardised mean difference (SMD): (mean over the window − training mean) /
 * training SD, in training standard deviations. Not PSI or KS: both need the training
 * distribution itself (PSI its bin shares, KS its CDF), and what each manifest holds of the
 * training split is its moments — per tabular feature the normalisation mean and SD that
 * `models/training/train.py` fits on the training rows where the feature is present (so the
 * z-scores the model is fed have mean 0 and SD 1 there), per modality statistic the
 * out-of-distribution detector's `center` and `scale` (`src/evaluation/ood-detector-fit.ts`, fitted
 * on the training split). Assuming a normal reference to get bins would call every skewed lab
 * (NT-proBNP, troponin) drifted on day one; the SMD is exact against what is stored, reads the same
 * for every feature, and has conventional bounds (|SMD| > 0.1 small, > 0.25 large imbalance —
 * Austin 2009, Stat Med 28:3083, for covariate balance). It sees location shifts (a unit change, a
 * new analyser's calibration, an older population), not a change of spread alone; the
 * out-of-distribution ratio per modality covers inputs far outside the training range. Its standard
 * error at n window cases is about 1/√n, hence the minimum case count before an alert.
 */
export function inputDrift(
  rows: ReadonlyArray<{ model: string; summary: InputSummary }>,
  models: readonly ServedModel[],
): InputDrift {
  const out: InputDrift = { windowAssessments: {}, drift: [], modalities: [] };
  for (const model of models) {
    const name = `${model.manifest.name}@${model.manifest.version}`;
    const own = rows.filter((r) => r.model === name).map((r) => r.summary);
    out.windowAssessments[name] = own.length;
    if (own.length === 0) continue;
    for (const feature of model.manifest.preprocessing.tabular?.features ?? []) {
      const present = own
        .map((s) => s.features[feature.name])
        .filter((v): v is number => typeof v === 'number');
      if (present.length === 0) continue;
      // Reference mean 0, SD 1: the z-scores are normalised with the training split's own mean and SD.
      out.drift.push({
        model: name,
        modality: 'tabular',
        feature: feature.name,
        n: present.length,
        smd: meanOf(present),
      });
    }
    for (const [modality, detector] of Object.entries(
      model.manifest.outOfDistribution?.modalities ?? {},
    ) as Array<
      [
        ModalityName,
        NonNullable<NonNullable<ServedModel['manifest']['outOfDistribution']>['modalities'][ModalityName]>,
      ]
    >) {
      const { statistics, center, scale } = detector;
      if (detector.method !== 'summary-mahalanobis' || !statistics || !center || !scale) continue;
      // Statistics of another length were computed by another version of tensor-summary.ts: skipped.
      const samples = own
        .map((s) => s.statistics[modality])
        .filter((v): v is number[] => v?.length === statistics.length);
      if (samples.length === 0) continue;
      statistics.forEach((statistic, j) => {
        const mean = meanOf(samples.map((s) => s[j] ?? 0));
        out.drift.push({
          model: name,
          modality,
          feature: statistic,
          n: samples.length,
          smd: (mean - (center[j] ?? 0)) / (scale[j] || 1),
        });
      });
    }
    const consumed = new Set(
      model.manifest.inputs
        .map((i) => ROLE_MODALITY[i.role])
        .filter((m): m is ModalityName => m !== undefined),
    );
    for (const modality of consumed) {
      out.modalities.push({
        model: name,
        modality,
        missingRatio: own.filter((s) => s.missing.includes(modality)).length / own.length,
        outOfDistributionRatio: own.filter((s) => s.outOfDistribution.includes(modality)).length / own.length,
      });
    }
  }
  return out;
}
