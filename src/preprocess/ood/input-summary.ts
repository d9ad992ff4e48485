import type { ModalityName, ModelManifest } from '../../contracts/manifest-types.js';
import type { InputSummary } from '../../contracts/model-monitoring.js';
import { ROLE_MODALITY, type PreprocessedRecord } from '../preprocess-record.js';
import { oodStatistics, type ModalityArrays } from './out-of-distribution.js';

/**
 * What the model was fed for one assessment, for input-drift monitoring (issue 19 point 5): the
 * z-score of each present tabular feature (the tensor after the manifest's normalisation, so the
 * training reference is mean 0, SD 1 by construction — `models/training/train.py` fits mean and SD
 * on the training rows where the feature is present), and the same summary statistics of the other
 * modalities' tensors that the out-of-distribution detectors score (`tensor-summary.ts`), whose
 * training mean and SD the manifest's `outOfDistribution` section holds. Only modalities the model
 * actually used contribute values; a modality refused as out of distribution is counted, not summarised.
 */
export function summariseInputs(
  manifest: ModelManifest,
  pre: Pick<PreprocessedRecord, 'tensors' | 'presence' | 'missing'>,
): InputSummary {
  const arrays: Partial<Record<ModalityName, ModalityArrays>> = {};
  for (const input of manifest.inputs) {
    const tensor = pre.tensors[input.name];
    const modality = ROLE_MODALITY[input.role];
    if (!tensor || !modality) continue;
    (arrays[modality] ??= {})[input.role] = tensor.data;
  }
  const features: Record<string, number | null> = {};
  const tabular = manifest.preprocessing.tabular;
  const values = arrays.tabular?.['tabular-values'];
  const mask = arrays.tabular?.['tabular-mask'];
  if (tabular && pre.presence.tabular && values instanceof Float32Array && mask instanceof Float32Array) {
    tabular.features.forEach((f, i) => {
      features[f.name] = (mask[i] ?? 0) > 0 ? (values[i] ?? 0) : null;
    });
  }
  const statistics: InputSummary['statistics'] = {};
  for (const modality of ['text', 'image', 'ecg'] as const) {
    const own = arrays[modality];
    if (!pre.presence[modality] || !own) continue;
    const summary = oodStatistics(manifest, modality, own);
    if (summary) statistics[modality] = summary;
  }
  return {
    features,
    statistics,
    missing: [...new Set(pre.missing.map((m) => m.modality))],
    outOfDistribution: [
      ...new Set(pre.missing.filter((m) => m.reason === 'out-of-distribution').map((m) => m.modality)),
    ],
  };
}
