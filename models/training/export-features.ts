/**
 * Feature export for the training recipe: generates the synthetic cohort with the project's own
 * generator (`src/sandbox/cohort`), assembles each patient's `PatientRecord` directly from the
 * generated FHIR resources and DICOM bytes (no server), runs the project's own preprocessing
 * (`preprocessRecord` from `src/preprocess`) and writes the tensors as `.npy` files plus labels.
 * Training therefore sees exactly the tensors the server will feed: serving and training cannot
 * drift apart.
 *
 *   npx tsx models/training/export-features.ts [--out DIR] [--seed N] [--train N] [--validation N] [--test N]
 *     [--test-shifted N] [--splits train,validation,test,test-shifted]
 *
 * `--splits` writes only the named splits (each split is its own cohort, so `build-all.sh` runs
 * them as parallel processes; the result is identical to one sequential run). With
 * `--splits ''` only `vocabulary.json` and `dataset.json` are written, the latter summing the
 * per-split `missing.json` counts of the splits already exported.
 *
 * Splits are separate cohorts drawn from consecutive seeds (seed, seed + 1, seed + 2, seed + 3).
 * `test-shifted/` comes from another site ({@link shiftedSite}: radiograph detector with another
 * contrast curve, exposure and noise; CRP, procalcitonin, troponin, creatinine and glucose in that
 * laboratory's units, which preprocessing converts; a sicker case mix, {@link SHIFTED_PREVALENCE}).
 * It is never used for training, tuning or any design choice: only evaluation reads it. Tabular
 * values are written in each feature's canonical UCUM unit *before* normalisation and images in
 * [0, 1] (the export manifest uses mean 0, std 1): train.py computes the normalisation statistics
 * on the training split and writes them into every model's manifest.
 *
 * Localisation ground truth (issue 20): `lesion_masks.npy` [N, 3, H, W] uint8 holds each patient's
 * lesion masks ({@link LESION_TYPES}: cardiomegaly, effusion, consolidation; `dataset.json#lesionTypes`)
 * on the model input grid, mapped exactly as `toModelImage` maps the image (aspect-preserving
 * area-averaging resize, centred padding; a model pixel is inside when at least half of it is);
 * all zero without a radiograph or without the lesion. They come from the generator's own drawing
 * geometry, never from FHIR or DICOM, and recording them changes no other tensor.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DiagnosticReport, ImagingStudy, Observation, Patient, Resource } from '@medplum/fhirtypes';
import type { PatientRecord } from '../../src/contracts/patient-record.js';
import { serializeNpy, type NpyArray } from '../../src/inference/manifest/npy-format.js';
import type { ModelManifest, TabularFeatureSpec, TensorSpec } from '../../src/contracts/manifest-types.js';
import { preprocessRecord } from '../../src/preprocess/preprocess-record.js';
import { createUcumConverter } from '../../src/preprocess/tabular/unit-conversion.js';
import { resizeImage } from '../../src/preprocess/imaging/resample.js';
import { extractReportText } from '../../src/preprocess/text/extract-report-text.js';
import { selectReports } from '../../src/preprocess/text/report-selection.js';
import { buildVocabulary } from '../../src/preprocess/text/build-vocabulary.js';
import { parseVocabulary, type Vocabulary } from '../../src/preprocess/text/vocabulary.js';
import {
  generateCohort,
  LESION_TYPES,
  shiftedSite,
  type CohortOptions,
  type GeneratedPatient,
  type LesionMasks,
} from '../../src/sandbox/cohort/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Model-side constants of the reference models (small, so training fits 2 CPU cores). */
export const EXPORT_SHAPES = {
  maxTokens: 96,
  imageSize: [64, 64] as [number, number],
  ecgSampleRateHz: 100,
  ecgSeconds: 10,
  ecgImageSize: [96, 128] as [number, number],
  leads: ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'],
};

/**
 * Case mix of the shifted site: a tertiary centre with more heart failure and pneumonia and less
 * atrial fibrillation than the reference site (defaults 0.17 / 0.20 / 0.15).
 */
export const SHIFTED_PREVALENCE = { acuteHeartFailure: 0.26, pneumonia: 0.3, atrialFibrillation: 0.1 };

/** The order of outcome labels (acute heart failure, pneumonia, atrial fibrillation), as in outcomes.json. */
const LABEL_ORDER = ['acuteHeartFailure', 'pneumonia', 'atrialFibrillation'] as const;

interface FeatureFile {
  lookbackHours: number;
  features: Array<Omit<TabularFeatureSpec, 'mean' | 'std'>>;
}

/** A manifest feeding every modality with identity normalisation: the tensors come out in raw units. */
export function exportManifest(): ModelManifest {
  const spec = JSON.parse(readFileSync(join(here, 'tabular-features.json'), 'utf8')) as FeatureFile;
  const f = spec.features.length;
  const input = (name: string, role: TensorSpec['role'], dtype: TensorSpec['dtype'], shape: number[]): TensorSpec => ({
    name,
    role,
    dtype,
    shape: [-1, ...shape],
  });
  const n = EXPORT_SHAPES.ecgSampleRateHz * EXPORT_SHAPES.ecgSeconds;
  return {
    schemaVersion: 1,
    name: 'feature-export',
    version: '0',
    title: 'Feature export (not a model)',
    description: 'Drives preprocessRecord for the training feature export.',
    trainingData: { synthetic: true, description: 'synthetic cohort' },
    files: {},
    inputs: [
      input('tabular_values', 'tabular-values', 'float32', [f]),
      input('tabular_mask', 'tabular-mask', 'float32', [f]),
      input('text_tokens', 'text-tokens', 'int64', [EXPORT_SHAPES.maxTokens]),
      input('image', 'image', 'float32', [1, ...EXPORT_SHAPES.imageSize]),
      input('ecg_waveform', 'ecg-waveform', 'float32', [12, n]),
      input('ecg_image', 'ecg-image', 'float32', [1, ...EXPORT_SHAPES.ecgImageSize]),
      input('modality_mask', 'modality-mask', 'float32', [4]),
    ],
    outputs: [{ name: 'probabilities', role: 'probabilities', dtype: 'float32', shape: [-1, 3] }],
    preprocessing: {
      tabular: { lookbackHours: spec.lookbackHours, features: spec.features.map((x) => ({ ...x, mean: 0, std: 1 })) },
      text: { lookbackHours: 720, categories: ['RAD'], tokenizer: 'vocabulary.json', maxTokens: EXPORT_SHAPES.maxTokens, lowercase: true, negationPrefix: 'NEG_' },
      image: { lookbackHours: 720, modalities: ['CR', 'DX'], bodyPart: 'CHEST', viewPositions: ['PA', 'AP'], size: EXPORT_SHAPES.imageSize, mean: 0, std: 1 },
      ecg: {
        lookbackHours: 720,
        sampleRateHz: EXPORT_SHAPES.ecgSampleRateHz,
        durationSeconds: EXPORT_SHAPES.ecgSeconds,
        leads: EXPORT_SHAPES.leads,
        representation: 'waveform',
        imageSize: EXPORT_SHAPES.ecgImageSize,
      },
    },
    outcomes: [],
    applicability: { requires: [], toleratesMissing: ['tabular', 'text', 'image', 'ecg'] },
  };
}

function isEcgObservation(o: Observation): boolean {
  return o.valueSampledData !== undefined || (o.component ?? []).some((c) => c.valueSampledData !== undefined);
}

/**
 * The `PatientRecord` the assembly would build for a generated patient: every non-ECG
 * Observation, every DiagnosticReport, the chest radiograph study with its DICOM instance, and the
 * ECG — as the FHIR Observation for even indices and as the DICOM waveform for odd ones, so both
 * decoding paths feed training.
 */
export function recordFromGenerated(p: GeneratedPatient, index: number, asOf: Date): PatientRecord {
  const byType = <T extends Resource>(type: T['resourceType']): T[] => p.resources.filter((r): r is T => r.resourceType === type);
  const patient = byType<Patient>('Patient')[0] as Patient;
  const observations = byType<Observation>('Observation');
  const labs = observations.filter((o) => !isEcgObservation(o));
  const ecgObservation = observations.find(isEcgObservation);
  const reports = byType<DiagnosticReport>('DiagnosticReport');
  const cxr = p.dicom.find((d) => d.kind === 'chest-radiograph');
  const ecgDicom = p.dicom.find((d) => d.kind === 'ecg-waveform');
  const study = byType<ImagingStudy>('ImagingStudy').find((s) => s.identifier?.some((i) => i.value === `urn:oid:${cxr?.studyInstanceUid}`) || s.id === `${p.patientId}-cxr`);
  const missing = { status: 'missing' as const, reason: 'none-in-window' as const, detail: 'not generated' };
  const ref = (r: Resource) => ({ resourceType: r.resourceType, id: r.id ?? '' });
  const useDicomEcg = index % 2 === 1 && ecgDicom !== undefined;
  return {
    patient,
    asOf: asOf.toISOString(),
    modalities: {
      tabular: labs.length ? { status: 'present', data: labs, sources: labs.map(ref) } : missing,
      text: reports.length ? { status: 'present', data: reports, sources: reports.map(ref) } : missing,
      image:
        cxr && study
          ? { status: 'present', data: { study, instance: { ...cxr, bytes: cxr.bytes } }, sources: [ref(study)] }
          : missing,
      ecg: useDicomEcg
        ? { status: 'present', data: { ...ecgDicom, bytes: ecgDicom.bytes }, sources: [] }
        : ecgObservation
          ? { status: 'present', data: ecgObservation, sources: [ref(ecgObservation)] }
          : missing,
    },
    roundTrips: 0,
  };
}

/**
 * The lesion masks on the model input grid [types, outH, outW], mapped as `toModelImage` maps a
 * `sourceWidth`×`sourceHeight` image (same scale, rounding and centred offset; the masks' own grid
 * covers the image's field of view). A model pixel is 1 when at least half of its area is inside.
 */
export function lesionMasksOnModelGrid(
  lesions: LesionMasks | undefined,
  sourceWidth: number,
  sourceHeight: number,
  [outH, outW]: [number, number],
): Uint8Array {
  const out = new Uint8Array(LESION_TYPES.length * outH * outW);
  if (!lesions) return out;
  const scale = Math.min(outW / sourceWidth, outH / sourceHeight);
  const w = Math.max(1, Math.min(outW, Math.round(sourceWidth * scale)));
  const h = Math.max(1, Math.min(outH, Math.round(sourceHeight * scale)));
  const x0 = Math.floor((outW - w) / 2);
  const y0 = Math.floor((outH - h) / 2);
  LESION_TYPES.forEach((type, t) => {
    const resized = resizeImage(Float32Array.from(lesions.masks[type]), lesions.size, lesions.size, w, h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) if (resized[y * w + x]! >= 0.5) out[t * outH * outW + (y0 + y) * outW + x0 + x] = 1;
  });
  return out;
}

/** Age in years from `Patient.birthDate` (subgroup reporting only), NaN when absent. */
function ageAt(patient: Patient, now: Date): number {
  const born = patient.birthDate ? Date.parse(patient.birthDate) : Number.NaN;
  return (now.getTime() - born) / (365.2425 * 86_400_000);
}

/** Growable column store for one split. */
class SplitArrays {
  private readonly chunks = new Map<string, Array<Float32Array | BigInt64Array | Uint8Array>>();
  rows = 0;
  push(name: string, data: Float32Array | BigInt64Array | Uint8Array): void {
    const list = this.chunks.get(name) ?? [];
    list.push(data);
    this.chunks.set(name, list);
  }
  write(folder: string, shapes: Record<string, number[]>): void {
    mkdirSync(folder, { recursive: true });
    for (const [name, list] of this.chunks) {
      const shape = [this.rows, ...(shapes[name] ?? [])];
      const size = list[0]?.length ?? 0;
      const first = list[0];
      const data =
        first instanceof BigInt64Array
          ? new BigInt64Array(this.rows * size)
          : first instanceof Uint8Array
            ? new Uint8Array(this.rows * size)
            : new Float32Array(this.rows * size);
      list.forEach((chunk, i) => (data as Float32Array).set(chunk as Float32Array, i * size));
      const dtype = data instanceof BigInt64Array ? 'int64' : data instanceof Uint8Array ? 'uint8' : 'float32';
      const array: NpyArray = { dtype, shape, data };
      writeFileSync(join(folder, `${name}.npy`), serializeNpy(array));
    }
  }
}

/** Vocabulary from the radiology reports of the training cohort (labels-only generation is enough: report text does not derive from signals). */
function trainingVocabulary(seed: number, patients: number, now: Date, manifest: ModelManifest): Vocabulary {
  const spec = manifest.preprocessing.text;
  if (!spec) throw new Error('export manifest has no text section');
  const texts: string[] = [];
  for (const p of generateCohort({ patients, seed, now, dicomwebBaseUrl: 'http://localhost/dicomweb', labelsOnly: true })) {
    const reports = p.resources.filter((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport');
    for (const report of selectReports(reports, spec.categories, spec.lookbackHours, now)) {
      const text = extractReportText(report);
      if (text.ok && text.value.text) texts.push(text.value.text);
    }
  }
  const parsed = parseVocabulary(buildVocabulary(texts, { lowercase: spec.lowercase, negationPrefix: spec.negationPrefix ?? 'NEG_', minCount: 3, maxSize: 2000 }));
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join(here, '.data', 'cohort') },
      seed: { type: 'string', default: '20261123' },
      train: { type: 'string', default: '1600' },
      validation: { type: 'string', default: '400' },
      test: { type: 'string', default: '1000' },
      'test-shifted': { type: 'string', default: '1000' },
      splits: { type: 'string', default: 'train,validation,test,test-shifted' },
    },
  });
  const out = resolve(values.out);
  const seed = Number(values.seed);
  const counts = {
    train: Number(values.train),
    validation: Number(values.validation),
    test: Number(values.test),
    'test-shifted': Number(values['test-shifted']),
  };
  // Per split: the cohort's site and case mix (only the shifted test set differs).
  const splitOptions: Record<keyof typeof counts, Partial<CohortOptions>> = {
    train: {},
    validation: {},
    test: {},
    'test-shifted': { site: shiftedSite, prevalence: SHIFTED_PREVALENCE },
  };
  // A fixed `now` makes the export byte-for-byte reproducible (timestamps derive from it).
  const now = new Date('2026-01-15T12:00:00Z');
  const manifest = exportManifest();
  const vocabulary = trainingVocabulary(seed, counts.train, now, manifest);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'vocabulary.json'), JSON.stringify({ tokens: vocabulary.tokens }));
  const convertUnit = createUcumConverter();
  const featureCount = manifest.preprocessing.tabular?.features.length ?? 0;
  const shapes: Record<string, number[]> = {
    tabular_values: [featureCount],
    tabular_mask: [featureCount],
    text_tokens: [EXPORT_SHAPES.maxTokens],
    image: [1, ...EXPORT_SHAPES.imageSize],
    ecg_waveform: [12, EXPORT_SHAPES.ecgSampleRateHz * EXPORT_SHAPES.ecgSeconds],
    ecg_image: [1, ...EXPORT_SHAPES.ecgImageSize],
    modality_mask: [4],
    labels: [LABEL_ORDER.length],
    age: [],
    sex_female: [],
    lesion_masks: [LESION_TYPES.length, ...EXPORT_SHAPES.imageSize],
  };
  // The cohort draws square radiographs of this many pixels (the masks map from that grid).
  const radiographSize = 128;
  const splits = Object.entries(counts) as Array<[keyof typeof counts, number]>;
  const selected = new Set(values.splits.split(',').filter((x) => x !== ''));
  for (const [offset, [split, patients]] of splits.entries()) {
    if (!selected.has(split)) continue;
    const missingCounts: Record<string, number> = {};
    const arrays = new SplitArrays();
    const started = Date.now();
    let index = 0;
    const cohort = generateCohort({
      patients,
      seed: seed + offset,
      now,
      dicomwebBaseUrl: 'http://localhost/dicomweb',
      imageSize: radiographSize,
      ...splitOptions[split],
    });
    for (const p of cohort) {
      const record = recordFromGenerated(p, index, now);
      const pre = preprocessRecord(record, manifest, out, { vocabulary, convertUnit });
      for (const m of pre.missing) missingCounts[`${m.modality}:${m.reason}`] = (missingCounts[`${m.modality}:${m.reason}`] ?? 0) + 1;
      for (const [name, tensor] of Object.entries(pre.tensors)) arrays.push(name, tensor.data);
      arrays.push('labels', Float32Array.from(LABEL_ORDER, (k) => (p.labels.conditions[k] ? 1 : 0)));
      const age = pre.tabularFeatures.find((f) => f.name === 'age_years')?.value ?? ageAt(record.patient, now);
      arrays.push('age', Float32Array.of(age));
      arrays.push('sex_female', Float32Array.of(record.patient.gender === 'female' ? 1 : 0));
      arrays.push('lesion_masks', lesionMasksOnModelGrid(p.radiographLesions, radiographSize, radiographSize, EXPORT_SHAPES.imageSize));
      arrays.rows++;
      index++;
      if (index % 500 === 0) process.stdout.write(`${split}: ${index}/${patients} (${((Date.now() - started) / index).toFixed(0)} ms/patient)\n`);
    }
    arrays.write(join(out, split), shapes);
    writeFileSync(join(out, split, 'missing.json'), `${JSON.stringify(missingCounts)}\n`);
    process.stdout.write(`${split}: ${patients} patients in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
  // Missing-modality counts over every split exported so far (sorted keys: byte-stable output).
  const missingCounts: Record<string, number> = {};
  for (const [split] of splits) {
    const file = join(out, split, 'missing.json');
    if (!existsSync(file)) continue;
    for (const [key, n] of Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>))
      missingCounts[key] = (missingCounts[key] ?? 0) + n;
  }
  const sortedMissing = Object.fromEntries(Object.entries(missingCounts).sort(([a], [b]) => a.localeCompare(b)));
  const dataset = {
    source: 'cohort',
    description:
      `fhir-fusion synthetic cohort (src/sandbox/cohort, seed ${seed}; ${counts.train} train / ${counts.validation} validation / ` +
      `${counts.test} test patients from the reference site and ${counts['test-shifted']} shifted-site test patients ` +
      `(other radiograph detector, lab units and case mix), one cohort per split from consecutive seeds), ` +
      `preprocessed by src/preprocess/preprocessRecord; labels are the recorded diagnoses with stated label noise; every patient is synthetic`,
    shiftedSite: { ...shiftedSite, prevalence: SHIFTED_PREVALENCE },
    seed,
    counts,
    shapes,
    ecgSampleRateHz: EXPORT_SHAPES.ecgSampleRateHz,
    ecgSeconds: EXPORT_SHAPES.ecgSeconds,
    ecgLeads: EXPORT_SHAPES.leads,
    labels: ['56675007', '233604007', '49436004'],
    lesionTypes: [...LESION_TYPES],
    missingModalities: sortedMissing,
  };
  writeFileSync(join(out, 'dataset.json'), `${JSON.stringify(dataset, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
