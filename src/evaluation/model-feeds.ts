import type { ModalityName, ModelManifest, TensorSpec } from '../contracts/manifest-types.js';
import { MODALITY_ORDER } from '../contracts/manifest-types.js';
import type { EvaluationDataset } from './evaluation-dataset.js';
import type { NpyArray } from '../inference/manifest/npy-format.js';

/** A feed for one graph input: dtype, dims and data, independent of the ONNX Runtime binding. */
export interface FeedTensor {
  type: 'float32' | 'int64';
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** The modality each input role belongs to (`modality-mask` belongs to none). */
export function modalityOfRole(role: TensorSpec['role']): ModalityName | undefined {
  switch (role) {
    case 'tabular-values':
    case 'tabular-mask':
      return 'tabular';
    case 'text-tokens':
    case 'text-attention-mask':
    case 'text-token-types':
      return 'text';
    case 'image':
      return 'image';
    case 'ecg-waveform':
    case 'ecg-image':
      return 'ecg';
    default:
      return undefined;
  }
}

/** Modalities a model consumes, in `MODALITY_ORDER`. */
export function modelModalities(manifest: ModelManifest): ModalityName[] {
  const used = new Set(manifest.inputs.map((i) => modalityOfRole(i.role)).filter((m) => m !== undefined));
  return MODALITY_ORDER.filter((m) => used.has(m));
}

function rowSize(array: NpyArray): number {
  return array.shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * Build the feeds for `rows` of the dataset. Applies the manifest's normalisation exactly as the
 * server's preprocessing does — tabular `(value − mean) / std` where present, 0 where absent;
 * image `(pixel − mean) / std` — and feeds a `removed` or absent modality the way the server
 * feeds a missing one: zeros, with its `modality_mask` entry 0.
 */
export function buildFeeds(
  manifest: ModelManifest,
  dataset: EvaluationDataset,
  rows: readonly number[],
  removed: readonly ModalityName[] = [],
): Record<string, FeedTensor> {
  const feeds: Record<string, FeedTensor> = {};
  const present = (row: number, modality: ModalityName): boolean =>
    !removed.includes(modality) && (dataset.modalityMask[row * 4 + MODALITY_ORDER.indexOf(modality)] ?? 0) > 0;
  const features = manifest.preprocessing.tabular?.features ?? [];
  for (const input of manifest.inputs) {
    const modality = modalityOfRole(input.role);
    if (input.role === 'modality-mask') {
      const data = new Float32Array(rows.length * 4);
      rows.forEach((row, r) => MODALITY_ORDER.forEach((m, j) => (data[r * 4 + j] = present(row, m) ? 1 : 0)));
      feeds[input.name] = { type: 'float32', dims: [rows.length, 4], data };
      continue;
    }
    const arrayName = input.role.replace('-', '_');
    const source = dataset.arrays[arrayName];
    if (!source || modality === undefined) throw new Error(`dataset has no ${arrayName}.npy for input ${input.name}`);
    const size = rowSize(source);
    const dims = [rows.length, ...source.shape.slice(1)];
    if (source.data instanceof BigInt64Array) {
      const data = new BigInt64Array(rows.length * size);
      rows.forEach((row, r) => {
        if (present(row, modality)) data.set((source.data as BigInt64Array).subarray(row * size, (row + 1) * size), r * size);
      });
      feeds[input.name] = { type: 'int64', dims, data };
      continue;
    }
    const src = source.data as Float32Array;
    const data = new Float32Array(rows.length * size);
    const mask = dataset.arrays['tabular_mask']?.data as Float32Array | undefined;
    rows.forEach((row, r) => {
      if (!present(row, modality)) return;
      for (let k = 0; k < size; k++) {
        const x = src[row * size + k] ?? 0;
        if (input.role === 'tabular-values') {
          const f = features[k];
          const m = mask?.[row * size + k] ?? 0;
          data[r * size + k] = f && m > 0 ? (x - f.mean) / f.std : 0;
        } else if (input.role === 'image' && manifest.preprocessing.image) {
          data[r * size + k] = (x - manifest.preprocessing.image.mean) / manifest.preprocessing.image.std;
        } else {
          data[r * size + k] = x;
        }
      }
    });
    feeds[input.name] = { type: 'float32', dims, data };
  }
  return feeds;
}
