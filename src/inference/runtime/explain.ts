import type {
  FeatureContribution,
  InferenceOutput,
  ModalityContribution,
  OutcomePrediction,
} from '../../contracts/assessment-result.js';
import { calibrateProbability, riskBand } from '../manifest/calibration.js';
import { MODALITY_ORDER, type ModalityName, type ModelManifest, type TensorSpec } from '../../contracts/manifest-types.js';
import type { RequestTensors } from './request-tensors.js';
import { elementCount, readNumber, writeNumber, zeroRange, type TensorArray } from '../manifest/tensor-data.js';

/** What the caller knows about the patient beyond the tensors. */
export interface InferenceMeta {
  /** Which modalities were assembled (present) for this patient; absent keys count as missing. */
  presence: Partial<Record<ModalityName, boolean>>;
  /**
   * Tabular feature values in each feature's canonical unit, aligned with
   * `manifest.preprocessing.tabular.features` (null when absent). Used for
   * `FeatureContribution.value`; when omitted the value is recovered from the normalised tensor.
   */
  tabularFeatures?: Array<{ name: string; value: number | null }>;
}

/** One row of the batch a request contributes. */
export type Variant =
  { kind: 'full' } | { kind: 'modality'; modality: ModalityName } | { kind: 'feature'; index: number };

/** A request expanded into its batch rows: the patient as-is, then one masked copy per explanation. */
export interface ExplainedRequest {
  variants: Variant[];
  /** Writes this request's rows into batch feeds (allocated by the batcher) starting at `rowOffset`. */
  writeRows(feeds: Record<string, TensorArray>, rowOffset: number): void;
}

/** Input roles that carry each modality's data; masking a modality zeroes all of them. */
const MODALITY_ROLES: Record<ModalityName, ReadonlyArray<TensorSpec['role']>> = {
  tabular: ['tabular-values', 'tabular-mask'],
  text: ['text-tokens'],
  image: ['image'],
  ecg: ['ecg-waveform', 'ecg-image'],
};

/**
 * Plans the rows for one request. With `explain`, appends, for each modality that is present and
 * that the model consumes, a copy with that modality masked out (its `modality-mask` entry 0 and
 * its tensors zeroed; models without a modality-mask just see zeros), and for tabular, one copy per
 * present feature with that feature's value and mask zeroed. All rows go in the same batched run,
 * so explanations cost one `session.run`, not one per variant.
 */
export function explainRows(
  manifest: ModelManifest,
  request: RequestTensors,
  meta: InferenceMeta,
  explain: boolean,
): ExplainedRequest {
  const variants: Variant[] = [{ kind: 'full' }];
  const values = manifest.inputs.find((i) => i.role === 'tabular-values');
  const mask = manifest.inputs.find((i) => i.role === 'tabular-mask');
  const modalityMask = manifest.inputs.find((i) => i.role === 'modality-mask');
  if (explain) {
    for (const modality of MODALITY_ORDER) {
      const consumed = manifest.inputs.some((i) => MODALITY_ROLES[modality].includes(i.role));
      if (consumed && meta.presence[modality] === true) variants.push({ kind: 'modality', modality });
    }
    const features = manifest.preprocessing.tabular?.features ?? [];
    if (meta.presence.tabular === true && values) {
      features.forEach((_, index) => {
        const present = mask
          ? readNumber(request.inputs[mask.name]?.data ?? new Float32Array(0), index) !== 0
          : meta.tabularFeatures?.[index]?.value != null;
        if (present) variants.push({ kind: 'feature', index });
      });
    }
  }

  const rowSizes = new Map(
    manifest.inputs.map((i) => [i.name, elementCount(request.inputs[i.name]?.dims ?? [])]),
  );
  return {
    variants,
    writeRows(feeds, rowOffset) {
      variants.forEach((variant, r) => {
        const row = rowOffset + r;
        for (const input of manifest.inputs) {
          const source = request.inputs[input.name]?.data;
          const target = feeds[input.name];
          const size = rowSizes.get(input.name) ?? 0;
          if (!source || !target) continue;
          (target as Float32Array).set(source as Float32Array, row * size);
          if (variant.kind === 'modality' && MODALITY_ROLES[variant.modality].includes(input.role)) {
            zeroRange(target, row * size, (row + 1) * size);
          }
        }
        if (variant.kind === 'modality' && modalityMask) {
          const target = feeds[modalityMask.name];
          if (target)
            writeNumber(target, row * MODALITY_ORDER.length + MODALITY_ORDER.indexOf(variant.modality), 0);
        }
        if (variant.kind === 'feature') {
          for (const input of [values, mask]) {
            const target = input ? feeds[input.name] : undefined;
            if (input && target)
              writeNumber(target, row * (rowSizes.get(input.name) ?? 0) + variant.index, 0);
          }
        }
      });
    },
  };
}

/**
 * Turns a request's rows of raw probabilities (`[rows, outcomeCount]`, row 0 = the patient as-is)
 * into calibrated predictions with risk bands, per-modality contributions and the top-k tabular
 * features by largest absolute change. Deltas are on calibrated probabilities, the scale the
 * clinician sees: delta = p(everything) - p(masked).
 */
export function interpretRows(
  manifest: ModelManifest,
  request: RequestTensors,
  meta: InferenceMeta,
  variants: readonly Variant[],
  probabilities: ArrayLike<number>,
  outcomeCount: number,
  topK: number,
): Omit<InferenceOutput, 'executionProvider'> {
  const calibrated = (row: number): number[] =>
    manifest.outcomes.map((o) =>
      calibrateProbability(Number(probabilities[row * outcomeCount + o.index] ?? 0), o.calibration),
    );
  const full = calibrated(0);
  const predictions: OutcomePrediction[] = manifest.outcomes.map((o, i) => ({
    outcomeIndex: i,
    probability: full[i] ?? 0,
    qualitativeRisk: riskBand(full[i] ?? 0, o.thresholds),
  }));
  const modalityContributions: ModalityContribution[] = [];
  const featureContributions: FeatureContribution[] = [];
  const features = manifest.preprocessing.tabular?.features ?? [];
  const values = manifest.inputs.find((i) => i.role === 'tabular-values');
  variants.forEach((variant, row) => {
    if (variant.kind === 'full') return;
    const masked = calibrated(row);
    const delta = full.map((p, i) => p - (masked[i] ?? 0));
    if (variant.kind === 'modality') {
      modalityContributions.push({ modality: variant.modality, delta });
      return;
    }
    const spec = features[variant.index];
    if (!spec) return;
    const given = meta.tabularFeatures?.[variant.index]?.value;
    // Without the caller's raw value, undo the manifest's z-score normalisation.
    const normalised = values
      ? readNumber(request.inputs[values.name]?.data ?? new Float32Array(0), variant.index)
      : 0;
    const value = typeof given === 'number' ? given : normalised * spec.std + spec.mean;
    featureContributions.push({ feature: spec.name, value, unit: spec.unit, delta });
  });
  const strength = (c: FeatureContribution): number => Math.max(...c.delta.map(Math.abs));
  featureContributions.sort((a, b) => strength(b) - strength(a));
  return {
    predictions,
    modalityContributions,
    featureContributions: featureContributions.slice(0, Math.max(0, topK)),
  };
}
