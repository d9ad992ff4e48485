import type { ModalityName, TabularFeatureSpec } from '../contracts/manifest-types.js';
import type { NpyArray } from '../inference/manifest/npy-format.js';
import { renderEcgImage } from '../preprocess/ecg/render-ecg-image.js';
import type { EvaluationDataset } from './evaluation-dataset.js';

/**
 * Shifted copies of the held-out test split, for the out-of-distribution detectors' detection rate
 * (issue #17). Each shift stands for an input that passes the input contracts but is not what the
 * model was trained on, applied to the exported arrays in their raw units (before the manifest's
 * normalisation) so every model sees it through its own normalisation. Deterministic: the only
 * randomness is a fixed-seed generator.
 */
export interface DatasetShift {
  modality: ModalityName;
  /** Short name for the card ("labs ×2"). */
  name: string;
  /** What the shift stands for. */
  description: string;
  apply(dataset: EvaluationDataset, features: readonly TabularFeatureSpec[]): EvaluationDataset;
}

/** Vital-sign features: the tabular shifts change labs only. */
const VITAL_SIGNS = new Set([
  'heart_rate',
  'respiratory_rate',
  'oxygen_saturation',
  'body_temperature',
  'systolic_bp',
  'diastolic_bp',
]);

/** A fixed-seed linear congruential generator in [0, 1) (no dependency, same numbers everywhere). */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function withArrays(dataset: EvaluationDataset, replaced: Record<string, NpyArray>): EvaluationDataset {
  return { ...dataset, arrays: { ...dataset.arrays, ...replaced } };
}

function float32(dataset: EvaluationDataset, name: string): NpyArray & { data: Float32Array } {
  const array = dataset.arrays[name];
  if (!array || !(array.data instanceof Float32Array))
    throw new Error(`the test split has no float32 ${name}.npy`);
  return array as NpyArray & { data: Float32Array };
}

/**
 * Lab values multiplied by `factor` (a unit or assay-calibration mix-up). A shifted value outside
 * the feature's plausible range is dropped (mask 0), as the server's plausibility check would
 * refuse it before the detector sees it.
 */
function scaleLabs(factor: number, only?: string): DatasetShift['apply'] {
  return (dataset, features) => {
    const values = float32(dataset, 'tabular_values');
    const mask = float32(dataset, 'tabular_mask');
    const v = Float32Array.from(values.data);
    const m = Float32Array.from(mask.data);
    const width = features.length;
    features.forEach((f, j) => {
      if (
        (f.source ?? 'observation') !== 'observation' ||
        VITAL_SIGNS.has(f.name) ||
        (only && f.name !== only)
      )
        return;
      for (let row = 0; row < dataset.size; row++) {
        const k = row * width + j;
        if ((m[k] ?? 0) <= 0) continue;
        const x = (v[k] ?? 0) * factor;
        if (x < f.plausible.min || x > f.plausible.max) m[k] = 0;
        else v[k] = x;
      }
    });
    return withArrays(dataset, {
      tabular_values: { ...values, data: v },
      tabular_mask: { ...mask, data: m },
    });
  };
}

/** Replace each radiograph with a drawing of another body part, or transform it. */
function mapImages(
  draw: (source: Float32Array, h: number, w: number, random: () => number) => Float32Array,
): DatasetShift['apply'] {
  return (dataset) => {
    const image = float32(dataset, 'image');
    const [h = 0, w = 0] = image.shape.slice(-2);
    const random = seededUniform(17);
    const out = new Float32Array(image.data.length);
    for (let row = 0; row < dataset.size; row++)
      out.set(draw(image.data.subarray(row * h * w, (row + 1) * h * w), h, w, random), row * h * w);
    return withArrays(dataset, { image: { ...image, data: out } });
  };
}

/** A crude lateral spine radiograph: a column of bright vertebral bodies with dark discs on soft tissue. */
function spine(_: Float32Array, h: number, w: number, random: () => number): Float32Array {
  const out = new Float32Array(h * w);
  const centre = w * (0.45 + 0.1 * random());
  const half = w * (0.09 + 0.03 * random());
  const body = h / (7 + 2 * random());
  for (let y = 0; y < h; y++) {
    const inDisc = y % body > body * 0.8;
    for (let x = 0; x < w; x++) {
      const tissue = 0.25 + 0.1 * Math.exp(-(((x - centre) / (w * 0.3)) ** 2));
      const bone = !inDisc && Math.abs(x - centre) < half ? 0.45 : 0;
      out[y * w + x] = Math.min(1, tissue + bone + 0.04 * (random() - 0.5));
    }
  }
  return out;
}

/** A crude knee radiograph: femur from the top and tibia from the bottom meeting at a joint space. */
function knee(_: Float32Array, h: number, w: number, random: () => number): Float32Array {
  const out = new Float32Array(h * w);
  const joint = h * (0.45 + 0.1 * random());
  const centre = w * (0.45 + 0.1 * random());
  for (let y = 0; y < h; y++) {
    const widening = Math.exp(-(((y - joint) / (h * 0.12)) ** 2));
    const half = w * (0.12 + 0.12 * widening);
    const inGap = Math.abs(y - joint) < h * 0.03;
    for (let x = 0; x < w; x++) {
      const bone = !inGap && Math.abs(x - centre) < half ? 0.55 : 0;
      out[y * w + x] = Math.min(1, 0.1 + bone + 0.04 * (random() - 0.5));
    }
  }
  return out;
}

/** The radiograph with its grey scale inverted (MONOCHROME1 read as MONOCHROME2). */
function inverted(source: Float32Array): Float32Array {
  return Float32Array.from(source, (v) => 1 - v);
}

/** ECG amplitudes multiplied by `gain` (a calibration or scale-factor error). */
function scaleEcg(gain: number): DatasetShift['apply'] {
  return mapEcg((data) => Float32Array.from(data, (v) => v * gain));
}

/** Gaussian noise of `sd` mV added to every recorded sample (muscle artefact, a poor electrode contact). */
function noisyEcg(sd: number): DatasetShift['apply'] {
  return (dataset, features) => {
    // A fresh generator per application: the same split always gets the same noise.
    const random = seededUniform(41);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return mapEcg((data) => Float32Array.from(data, (v) => (v === 0 ? 0 : v + sd * gaussian())))(
      dataset,
      features,
    );
  };
}

/**
 * Left and right arm electrodes swapped: I becomes −I, II and III trade places, aVL and aVR trade
 * places, aVF and the chest leads are unchanged.
 */
function armLeadReversal(data: Float32Array, leads: number, samples: number): Float32Array {
  const out = Float32Array.from(data);
  const row = (name: string) => LEADS.indexOf(name);
  const copy = (to: string, from: string, sign = 1) => {
    for (let t = 0; t < samples; t++)
      out[row(to) * samples + t] = sign * (data[row(from) * samples + t] ?? 0);
  };
  if (leads < 6) return out;
  copy('I', 'I', -1);
  copy('II', 'III');
  copy('III', 'II');
  copy('aVR', 'aVL');
  copy('aVL', 'aVR');
  return out;
}

/** Apply `change` to every ECG waveform [leads, samples] of the split, re-rendering the ECG images from the result. */
function mapEcg(
  change: (data: Float32Array, leads: number, samples: number) => Float32Array,
): DatasetShift['apply'] {
  return (dataset) => {
    const waveform = float32(dataset, 'ecg_waveform');
    const [leadCount = 12, sampleCount = 0] = waveform.shape.slice(1);
    const size = leadCount * sampleCount;
    const scaled = new Float32Array(waveform.data.length);
    for (let row = 0; row < dataset.size; row++)
      scaled.set(
        change(waveform.data.subarray(row * size, (row + 1) * size), leadCount, sampleCount),
        row * size,
      );
    const replaced: Record<string, NpyArray> = { ecg_waveform: { ...waveform, data: scaled } };
    const image = dataset.arrays['ecg_image'];
    if (image && image.data instanceof Float32Array) {
      const [leads = 12, samples = 0] = waveform.shape.slice(1);
      const [h = 0, w = 0] = image.shape.slice(-2);
      const rendered = new Float32Array(image.data.length);
      for (let row = 0; row < dataset.size; row++) {
        const data = scaled.subarray(row * leads * samples, (row + 1) * leads * samples);
        const names = LEADS.slice(0, leads);
        // As the preprocessing does: a lead the recording lacked (a zero row) is not drawn.
        const missingLeads = names.filter((_, l) =>
          data.subarray(l * samples, (l + 1) * samples).every((v) => v === 0),
        );
        const ecg = {
          dims: [leads, samples] as [number, number],
          data,
          leads: names,
          sampleRateHz: samples / 10,
          missingLeads,
        };
        rendered.set(renderEcgImage(ecg, [h, w]), row * h * w);
      }
      replaced['ecg_image'] = { ...image, data: rendered };
    }
    return withArrays(dataset, replaced);
  };
}

const LEADS = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];

/** Report tokens replaced by "unknown" (id 1) with probability `share`: a report in another vocabulary or language. */
function unknownTokens(share: number): DatasetShift['apply'] {
  return (dataset) => {
    const tokens = dataset.arrays['text_tokens'];
    if (!tokens || !(tokens.data instanceof BigInt64Array))
      throw new Error('the test split has no int64 text_tokens.npy');
    const random = seededUniform(29);
    const out = BigInt64Array.from(tokens.data, (id) => (id > 1n && random() < share ? 1n : id));
    return withArrays(dataset, { text_tokens: { ...tokens, data: out } });
  };
}

/** The shifts `npm run models:evaluate` reports detection rates on. */
export const DATASET_SHIFTS: readonly DatasetShift[] = [
  {
    modality: 'tabular',
    name: 'labs ×2',
    description:
      'every lab value doubled (a unit or assay mix-up); a doubled value outside the plausible range is dropped, as the server refuses it before scoring',
    apply: scaleLabs(2),
  },
  {
    modality: 'tabular',
    name: 'labs ×0.5',
    description: 'every lab value halved, likewise',
    apply: scaleLabs(0.5),
  },
  {
    modality: 'text',
    name: '30 % unknown tokens',
    description: 'report tokens replaced by unknown with probability 0.3 (another vocabulary or language)',
    apply: unknownTokens(0.3),
  },
  {
    modality: 'image',
    name: 'spine',
    description: 'a synthetic spine radiograph (column of vertebral bodies) in place of the chest film',
    apply: mapImages(spine),
  },
  {
    modality: 'image',
    name: 'knee',
    description: 'a synthetic knee radiograph (femur and tibia at a joint space) in place of the chest film',
    apply: mapImages(knee),
  },
  {
    modality: 'image',
    name: 'inverted',
    description: 'the chest film with its grey scale inverted (MONOCHROME1 read as MONOCHROME2)',
    apply: mapImages(inverted),
  },
  {
    modality: 'ecg',
    name: 'amplitude ×2',
    description: 'every lead doubled (a gain or scale-factor error)',
    apply: scaleEcg(2),
  },
  { modality: 'ecg', name: 'amplitude ×0.5', description: 'every lead halved', apply: scaleEcg(0.5) },
  {
    modality: 'ecg',
    name: 'amplitude ×4',
    description: 'every lead ×4 (a 2.5 mm/mV recording read as 10 mm/mV)',
    apply: scaleEcg(4),
  },
  {
    modality: 'ecg',
    name: 'noise 0.2 mV',
    description:
      'Gaussian noise of 0.2 mV on every recorded sample (muscle artefact, poor electrode contact)',
    apply: noisyEcg(0.2),
  },
  {
    modality: 'ecg',
    name: 'arm leads reversed',
    description: 'left and right arm electrodes swapped (I inverted, II and III, aVR and aVL exchanged)',
    apply: mapEcg(armLeadReversal),
  },
];
