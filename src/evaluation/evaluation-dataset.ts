import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNpy, type NpyArray } from '../inference/manifest/npy-format.js';

/**
 * A held-out split as written by `models/training/export-features.ts` (or the interim generator):
 * one `.npy` per tensor role, in the same units the training recipe reads — tabular values in
 * each feature's canonical UCUM unit *before* normalisation, images scaled to [0, 1] before
 * normalisation (the manifest's mean/std are applied per model, as the server does).
 */
export interface EvaluationDataset {
  /** Number of patients. */
  size: number;
  /** Arrays by tensor name (`tabular_values`, `text_tokens`, `image`, `ecg_waveform`, ...). */
  arrays: Record<string, NpyArray>;
  /** Outcome labels, row-major [size, outcomes], 0/1. */
  labels: Float32Array;
  outcomes: number;
  /** Age in years and sex (1 = female) per patient, for subgroup metrics. */
  ageYears: Float32Array;
  sexFemale: Float32Array;
  /** `modality_mask` [size, 4]: tabular, text, image, ecg present. */
  modalityMask: Float32Array;
}

/** Array files the dataset must contain. */
const REQUIRED = ['labels', 'modality_mask', 'age', 'sex_female'] as const;
/** Model input arrays read when present. */
const INPUTS = ['tabular_values', 'tabular_mask', 'text_tokens', 'image', 'ecg_waveform', 'ecg_image'] as const;

/** A dataset folder that is missing files or holds inconsistent arrays. */
export class EvaluationDatasetError extends Error {
  override readonly name = 'EvaluationDatasetError';
}

function asFloat32(array: NpyArray, name: string): Float32Array {
  if (array.data instanceof Float32Array) return array.data;
  throw new EvaluationDatasetError(`${name}.npy must be float32, is ${array.dtype}`);
}

/** Load a split folder (`.../test`). Throws `EvaluationDatasetError` naming the bad file. */
export function loadEvaluationDataset(folder: string): EvaluationDataset {
  const arrays: Record<string, NpyArray> = {};
  for (const name of [...REQUIRED, ...INPUTS]) {
    const path = join(folder, `${name}.npy`);
    if (!existsSync(path)) {
      if ((REQUIRED as readonly string[]).includes(name)) throw new EvaluationDatasetError(`missing ${name}.npy in ${folder}`);
      continue;
    }
    arrays[name] = parseNpy(readFileSync(path));
  }
  const labels = arrays['labels'] as NpyArray;
  const size = labels.shape[0] ?? 0;
  for (const [name, array] of Object.entries(arrays)) {
    if (array.shape[0] !== size) throw new EvaluationDatasetError(`${name}.npy has ${array.shape[0]} rows, labels ${size}`);
  }
  return {
    size,
    arrays,
    labels: asFloat32(labels, 'labels'),
    outcomes: labels.shape[1] ?? 0,
    ageYears: asFloat32(arrays['age'] as NpyArray, 'age'),
    sexFemale: asFloat32(arrays['sex_female'] as NpyArray, 'sex_female'),
    modalityMask: asFloat32(arrays['modality_mask'] as NpyArray, 'modality_mask'),
  };
}
