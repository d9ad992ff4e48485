import type { ModalityName, ModelManifest, OodDetector, TensorSpec } from '../../contracts/manifest-types.js';
import { fail, ok, type PreprocessResult } from '../result.js';
import {
  ECG_WAVEFORM_STATISTICS,
  IMAGE_STATISTICS,
  TEXT_STATISTICS,
  ecgWaveformSummary,
  imageSummary,
  textSummary,
} from './tensor-summary.js';

/** A modality's model-ready arrays by input role (batch axis removed), as preprocessing produces them. */
export type ModalityArrays = Partial<Record<TensorSpec['role'], Float32Array | BigInt64Array>>;

const LABEL: Record<ModalityName, string> = {
  tabular: 'labs and vital signs',
  text: 'report text',
  image: 'image',
  ecg: 'ECG',
};

/** Which statistic list a modality's detector uses for this model: the tensor the model is fed decides. */
export function oodStatisticNames(
  manifest: ModelManifest,
  modality: ModalityName,
): readonly string[] | undefined {
  if (modality === 'text') return TEXT_STATISTICS;
  if (modality === 'image') return IMAGE_STATISTICS;
  if (modality === 'ecg')
    return ecgRole(manifest) === 'ecg-waveform' ? ECG_WAVEFORM_STATISTICS : IMAGE_STATISTICS;
  return undefined;
}

function ecgRole(manifest: ModelManifest): 'ecg-waveform' | 'ecg-image' {
  return manifest.inputs.some((i) => i.role === 'ecg-waveform') ? 'ecg-waveform' : 'ecg-image';
}

/**
 * The summary statistics of one modality's tensor (see `tensor-summary.ts`), or undefined when the
 * tensor the statistics need is not among `arrays`.
 */
export function oodStatistics(
  manifest: ModelManifest,
  modality: ModalityName,
  arrays: ModalityArrays,
): number[] | undefined {
  const p = manifest.preprocessing;
  if (modality === 'text') {
    const ids = arrays['text-tokens'];
    return ids instanceof BigInt64Array ? textSummary(ids) : undefined;
  }
  if (modality === 'image') {
    const image = arrays.image;
    return image instanceof Float32Array && p.image
      ? imageSummary(image, p.image.size[0], p.image.size[1])
      : undefined;
  }
  if (modality === 'ecg' && p.ecg) {
    const role = ecgRole(manifest);
    const data = arrays[role];
    if (!(data instanceof Float32Array)) return undefined;
    if (role === 'ecg-waveform')
      return ecgWaveformSummary(data, p.ecg.leads, Math.round(p.ecg.durationSeconds * p.ecg.sampleRateHz));
    const [h, w] = p.ecg.imageSize ?? [256, 512];
    return imageSummary(data, h, w);
  }
  return undefined;
}

/** Mahalanobis distance of `values` from the detector's centre: √(zᵀ P z), z = (x − centre) / scale. */
export function mahalanobis(
  detector: Required<Pick<OodDetector, 'center' | 'scale' | 'precision'>>,
  values: readonly number[],
): number {
  const z = values.map((v, i) => (v - (detector.center[i] ?? 0)) / (detector.scale[i] ?? 1));
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    const row = detector.precision[i] ?? [];
    for (let j = 0; j < z.length; j++) sum += (z[i] ?? 0) * (row[j] ?? 0) * (z[j] ?? 0);
  }
  return Math.sqrt(Math.max(0, sum));
}

/**
 * How far, in standard deviations of the training data, the furthest present feature lies outside
 * the range `[low, high]` it took in training (0 when every present feature is inside); NaN when
 * no feature is present.
 */
export function tabularRangeExceedance(
  values: Float32Array,
  mask: Float32Array,
  low: readonly number[],
  high: readonly number[],
): number {
  let worst = 0;
  let present = 0;
  for (let i = 0; i < values.length; i++) {
    if ((mask[i] ?? 0) <= 0) continue;
    present++;
    const z = values[i] ?? 0;
    worst = Math.max(worst, (low[i] ?? z) - z, z - (high[i] ?? z));
  }
  return present === 0 ? Number.NaN : worst;
}

/**
 * The out-of-distribution score of one modality under `detector`, or a failure when the detector
 * cannot be evaluated on these arrays (statistics calibrated by another version of
 * `tensor-summary.ts`, or a tensor missing).
 */
export function oodScore(
  manifest: ModelManifest,
  modality: ModalityName,
  detector: OodDetector,
  arrays: ModalityArrays,
): PreprocessResult<number> {
  if (detector.method === 'tabular-range') {
    const values = arrays['tabular-values'];
    const mask = arrays['tabular-mask'];
    const { low, high } = detector;
    if (!(values instanceof Float32Array) || !(mask instanceof Float32Array) || !low || !high)
      return fail('out-of-distribution', `${LABEL[modality]}: no tabular tensor or range to score`);
    return ok(tabularRangeExceedance(values, mask, low, high));
  }
  const names = oodStatisticNames(manifest, modality);
  const { statistics, center, scale, precision } = detector;
  if (!names || !statistics || !center || !scale || !precision || names.join() !== statistics.join()) {
    return fail(
      'out-of-distribution',
      `${LABEL[modality]}: the manifest's out-of-distribution statistics do not match this version of fhir-fusion`,
    );
  }
  const values = oodStatistics(manifest, modality, arrays);
  if (!values) return fail('out-of-distribution', `${LABEL[modality]}: no tensor to score`);
  return ok(mahalanobis({ center, scale, precision }, values));
}

/**
 * Issue #17: a modality whose tensor scores above its detector's calibrated threshold is treated
 * as missing (`out-of-distribution`), with the score and threshold in the detail, so that the
 * abstention rules decide what can still be said. A modality without a detector, or a manifest
 * without the section, passes unchanged; a score that is not a number is out of distribution.
 */
export function checkOutOfDistribution(
  manifest: ModelManifest,
  modality: ModalityName,
  arrays: ModalityArrays,
): PreprocessResult<void> {
  const section = manifest.outOfDistribution;
  const detector = section?.modalities[modality];
  if (!section || !detector) return ok(undefined);
  const score = oodScore(manifest, modality, detector, arrays);
  if (!score.ok) return score;
  if (Number.isFinite(score.value) && score.value <= detector.threshold) return ok(undefined);
  const rate = `${+(section.targetFalseAlarmRate * 100).toFixed(2)} %`;
  return fail(
    'out-of-distribution',
    `${LABEL[modality]} unlike the training data: out-of-distribution score ${Number.isFinite(score.value) ? score.value.toFixed(2) : 'not a number'} ` +
      `above the threshold ${detector.threshold.toFixed(2)} (set to ${rate} false alarms on held-out synthetic patients)`,
  );
}
