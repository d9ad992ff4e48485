import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import { evaluateOutOfDistribution } from '../../../src/evaluation/evaluate-ood.js';
import { METRICS_END, METRICS_START } from '../../../src/evaluation/metrics-card-section.js';
import { OOD_END, OOD_START, type OodReport } from '../../../src/evaluation/ood-card-section.js';
import { falseAlarmThreshold, invert } from '../../../src/evaluation/ood-detector-fit.js';
import { seededUniform } from '../../../src/evaluation/ood-shifts.js';
import { parseManifest } from '../../../src/inference/manifest/manifest-schema.js';
import { serializeNpy } from '../../../src/inference/manifest/npy-format.js';

/**
 * A small world of in-distribution patients (two labs, an 8×8 "chest film" of two dark lungs on a
 * bright mediastinum) split into train / validation / test, and a model reading both: the
 * evaluation must fit detectors, hold the false-alarm rate, detect the shifted copies, and write
 * the same bytes every time.
 */
const N = 400;
const SIZE = 8;
let root: string;

const feature = (name: string, plausible: { min: number; max: number }, mean: number, std: number) => ({
  name,
  loinc: ['1-1'],
  unit: '1',
  aggregate: 'last' as const,
  plausible,
  mean,
  std,
  source: 'observation' as const,
});

function modelManifest(): ModelManifest {
  return {
    schemaVersion: 1,
    name: 'lab-image',
    version: '1',
    title: 'lab-image',
    description: 'synthetic test model',
    trainingData: { synthetic: true, description: 'synthetic' },
    files: {},
    inputs: [
      { name: 'tabular_values', dtype: 'float32', shape: [-1, 2], role: 'tabular-values' },
      { name: 'tabular_mask', dtype: 'float32', shape: [-1, 2], role: 'tabular-mask' },
      { name: 'image', dtype: 'float32', shape: [-1, 1, SIZE, SIZE], role: 'image' },
    ],
    outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 1], role: 'probabilities' }],
    preprocessing: {
      tabular: {
        lookbackHours: 1,
        features: [
          feature('potassium', { min: 1, max: 10 }, 4.2, 0.4),
          feature('creatinine', { min: 0.1, max: 20 }, 1, 0.2),
        ],
      },
      image: {
        lookbackHours: 1,
        modalities: ['CR'],
        bodyPart: 'CHEST',
        viewPositions: [],
        size: [SIZE, SIZE],
        mean: 0.5,
        std: 0.2,
      },
    },
    outcomes: [
      {
        index: 0,
        coding: { system: 'http://snomed.info/sct', code: '233604007', display: 'Pneumonia' },
        thresholds: [{ min: 0, code: 'low' }],
      },
    ],
    applicability: { requires: [], toleratesMissing: ['tabular', 'image'] },
  };
}

function writeSplit(folder: string, seed: number): void {
  mkdirSync(folder, { recursive: true });
  const random = seededUniform(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const values = new Float32Array(N * 2);
  const image = new Float32Array(N * SIZE * SIZE);
  for (let i = 0; i < N; i++) {
    values[i * 2] = 4.2 + 0.4 * gaussian();
    values[i * 2 + 1] = 1 + 0.2 * gaussian();
    const brightness = 0.05 * gaussian();
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const lung = y > 1 && y < 7 && (x === 1 || x === 2 || x === 5 || x === 6);
        image[i * SIZE * SIZE + y * SIZE + x] = (lung ? 0.25 : 0.75) + brightness + 0.03 * gaussian();
      }
    }
  }
  const f32 = (shape: number[], data: Float32Array) => serializeNpy({ dtype: 'float32', shape, data });
  writeFileSync(join(folder, 'tabular_values.npy'), f32([N, 2], values));
  writeFileSync(join(folder, 'tabular_mask.npy'), f32([N, 2], new Float32Array(N * 2).fill(1)));
  writeFileSync(join(folder, 'image.npy'), f32([N, 1, SIZE, SIZE], image));
  writeFileSync(join(folder, 'labels.npy'), f32([N, 1], new Float32Array(N)));
  writeFileSync(
    join(folder, 'modality_mask.npy'),
    f32(
      [N, 4],
      Float32Array.from({ length: N * 4 }, (_, k) => (k % 4 === 0 || k % 4 === 2 ? 1 : 0)),
    ),
  );
  writeFileSync(join(folder, 'age.npy'), f32([N], new Float32Array(N).fill(60)));
  writeFileSync(join(folder, 'sex_female.npy'), f32([N], new Float32Array(N)));
}

const folder = () => join(root, 'models', 'lab-image', '1');
const CARD = `# lab-image\n\n## Quantitative measures of performance\n\n${METRICS_START}\nfigures\n${METRICS_END}\n\n## Maintenance\n`;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'evaluate-ood-'));
  const data = join(root, 'data');
  ['train', 'validation', 'test'].forEach((split, i) => writeSplit(join(data, split), 101 + i));
  writeFileSync(join(data, 'dataset.json'), JSON.stringify({ description: 'unit-test cohort' }));
  mkdirSync(folder(), { recursive: true });
  writeFileSync(join(folder(), 'model.onnx'), 'fake');
  writeFileSync(join(folder(), 'card.md'), CARD);
  writeFileSync(join(folder(), 'manifest.json'), JSON.stringify(modelManifest()));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('evaluateOutOfDistribution', () => {
  let report: OodReport;
  let firstManifest: string;
  let firstCard: string;

  beforeAll(async () => {
    const reports = await evaluateOutOfDistribution({
      modelsDir: join(root, 'models'),
      datasetDir: join(root, 'data'),
    });
    report = reports['lab-image'] as OodReport;
    firstManifest = readFileSync(join(folder(), 'manifest.json'), 'utf8');
    firstCard = readFileSync(join(folder(), 'card.md'), 'utf8');
  });

  it('holds the false-alarm rate on held-out patients and detects the shifted copies', () => {
    const tabular = report.modalities['tabular'];
    const image = report.modalities['image'];
    expect(tabular?.calibrationPatients).toBe(N);
    expect(tabular?.test.falseAlarmRate).toBeLessThanOrEqual(0.03);
    expect(image?.test.falseAlarmRate).toBeLessThanOrEqual(0.03);
    const detected = (m: typeof image, name: string) =>
      m?.shifted.find((s) => s.name === name)?.detectionRate ?? 0;
    expect(detected(image, 'spine')).toBe(1);
    expect(detected(image, 'knee')).toBe(1);
    expect(detected(image, 'inverted')).toBeGreaterThan(0.9);
    expect(detected(tabular, 'labs ×2')).toBeGreaterThan(0.9);
  });

  it('writes a manifest section the schema accepts, with the card section after the performance section', () => {
    const manifest = JSON.parse(firstManifest) as ModelManifest;
    expect(parseManifest(manifest).ok).toBe(true);
    expect(manifest.outOfDistribution?.targetFalseAlarmRate).toBe(0.01);
    expect(manifest.outOfDistribution?.modalities.tabular?.method).toBe('tabular-range');
    expect(manifest.outOfDistribution?.modalities.image?.method).toBe('summary-mahalanobis');
    expect(firstCard.indexOf(METRICS_END)).toBeLessThan(firstCard.indexOf(OOD_START));
    expect(firstCard.indexOf(OOD_END)).toBeLessThan(firstCard.indexOf('## Maintenance'));
    expect(firstCard).toContain('| image | summary-mahalanobis |');
    expect(firstCard).toContain('\nfigures\n');
  });

  it('reproduces byte for byte', async () => {
    await evaluateOutOfDistribution({ modelsDir: join(root, 'models'), datasetDir: join(root, 'data') });
    expect(readFileSync(join(folder(), 'manifest.json'), 'utf8')).toBe(firstManifest);
    expect(readFileSync(join(folder(), 'card.md'), 'utf8')).toBe(firstCard);
  });
});

describe('calibration arithmetic', () => {
  it('sets the threshold so that at most the target share of held-out scores lies above it; a NaN score is above every threshold', () => {
    const scores = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(falseAlarmThreshold(scores, 0.01)).toBe(99);
    expect(falseAlarmThreshold(scores, 0.05)).toBe(95);
    expect(falseAlarmThreshold([...scores.slice(0, 99), Number.NaN], 0.01)).toBe(99);
    expect(() => falseAlarmThreshold([Number.NaN, Number.NaN], 0.01)).toThrow(/not numbers/);
  });

  it('inverts a covariance matrix', () => {
    const a = [
      [4, 1, 0],
      [1, 3, 1],
      [0, 1, 2],
    ];
    const inv = invert(a);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        expect(a[i]!.reduce((s, v, k) => s + v * inv[k]![j]!, 0)).toBeCloseTo(i === j ? 1 : 0, 10);
  });
});
