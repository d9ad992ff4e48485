import type {
  FeatureContribution,
  InferenceOutput,
  ModalityContribution,
  OutcomePrediction,
} from '../../contracts/assessment-result.js';
import { calibrateProbability, riskBand } from '../manifest/calibration.js';
import {
  MODALITY_ORDER,
  type ModalityName,
  type ModelManifest,
  type TensorSpec,
} from '../../contracts/manifest-types.js';
import type { RequestTensors } from './request-tensors.js';
import {
  elementCount,
  readNumber,
  writeNumber,
  zeroRange,
  type TensorArray,
} from '../manifest/tensor-data.js';
import { shapleyValues } from './shapley.js';

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

/**
 * One row of the batch a request contributes: the patient as-is, the patient with a set of its
 * modalities masked (a Shapley coalition: every present modality not in `masked` is kept), or the
 * patient with one tabular feature masked.
 */
export type Variant =
  { kind: 'full' } | { kind: 'coalition'; masked: ModalityName[] } | { kind: 'feature'; index: number };

/** A request expanded into its batch rows: the patient as-is, then one masked copy per explanation. */
export interface ExplainedRequest {
  variants: Variant[];
  /** Writes this request's rows into batch feeds (allocated by the batcher) starting at `rowOffset`. */
  writeRows(feeds: Record<string, TensorArray>, rowOffset: number): void;
}

/** Input roles that carry each modality's data; masking a modality zeroes all of them. */
const MODALITY_ROLES: Record<ModalityName, ReadonlyArray<TensorSpec['role']>> = {
  tabular: ['tabular-values', 'tabular-mask'],
  text: ['text-tokens', 'text-attention-mask', 'text-token-types'],
  image: ['image'],
  ecg: ['ecg-waveform', 'ecg-image'],
};

/**
 * The modalities that are Shapley players for this patient: present and consumed by the model, in
 * `MODALITY_ORDER`. Missing modalities are masked in every row, so they are part of the baseline.
 */
function players(manifest: ModelManifest, meta: InferenceMeta): ModalityName[] {
  return MODALITY_ORDER.filter(
    (modality) =>
      meta.presence[modality] === true &&
      manifest.inputs.some((i) => MODALITY_ROLES[modality].includes(i.role)),
  );
}

/**
 * Plans the rows for one request. With `explain`, appends one copy per proper coalition of the
 * patient's present, consumed modalities (2^n − 1 rows for n such modalities, up to 15; row 0 is the
 * full coalition) with the modalities outside the coalition masked out — their `modality-mask` entry
 * 0 and their tensors zeroed, exactly how a missing modality reaches the model, so models without a
 * modality-mask just see zeros. The empty coalition (every modality masked) is the Shapley baseline.
 * For tabular, one copy per present feature with that feature's value and mask zeroed. All rows go
 * in the same batched run, so explanations cost one `session.run`, not one per variant.
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
    const present = players(manifest, meta);
    const full = (1 << present.length) - 1;
    // Kept-set bitmasks from "all but one" down to the empty baseline; row order is fixed so a
    // batched and an unbatched run see the same rows.
    for (let kept = full - 1; kept >= 0; kept -= 1) {
      variants.push({ kind: 'coalition', masked: present.filter((_, k) => !(kept & (1 << k))) });
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
          if (
            variant.kind === 'coalition' &&
            variant.masked.some((modality) => MODALITY_ROLES[modality].includes(input.role))
          ) {
            zeroRange(target, row * size, (row + 1) * size);
          }
        }
        if (variant.kind === 'coalition' && modalityMask) {
          const target = feeds[modalityMask.name];
          for (const modality of variant.masked) {
            if (target)
              writeNumber(target, row * MODALITY_ORDER.length + MODALITY_ORDER.indexOf(modality), 0);
          }
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
 * features by largest absolute change. Everything is on calibrated probabilities, the scale the
 * clinician sees. Modality contributions are exact Shapley values over the coalition rows, so per
 * outcome they sum to p(every present modality) − p(every modality masked); feature deltas are
 * single-feature occlusion: p(everything) − p(that feature masked).
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
  const coalitionRows = new Map<string, number[]>([['', full]]);
  variants.forEach((variant, row) => {
    if (variant.kind === 'coalition') coalitionRows.set(variant.masked.join(','), calibrated(row));
  });
  const present = players(manifest, meta);
  if (coalitionRows.size === 2 ** present.length && present.length > 0) {
    const valueOf = (kept: number, outcome: number): number =>
      coalitionRows.get(present.filter((_, k) => !(kept & (1 << k))).join(','))?.[outcome] ?? 0;
    const perOutcome = full.map((_, o) => shapleyValues(present.length, (kept) => valueOf(kept, o)));
    present.forEach((modality, k) =>
      modalityContributions.push({ modality, delta: perOutcome.map((phi) => phi[k] ?? 0) }),
    );
  }
  variants.forEach((variant, row) => {
    if (variant.kind !== 'feature') return;
    const masked = calibrated(row);
    const delta = full.map((p, i) => p - (masked[i] ?? 0));
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
