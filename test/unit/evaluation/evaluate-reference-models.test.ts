import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateReferenceModels } from '../../../src/evaluation/evaluate-reference-models.js';
import { METRICS_END, METRICS_START, type ModelMetricsReport } from '../../../src/evaluation/metrics-card-section.js';
import type { FeedTensor } from '../../../src/evaluation/model-feeds.js';
import { serializeNpy } from '../../../src/inference/manifest/npy-format.js';
import type { ModelManifest, TensorSpec } from '../../../src/contracts/manifest-types.js';

/**
 * A small world where the outcome is decided by two signals: the tabular value (seen by both
 * models) and the image (seen only by the fusion model). The fake runners stand in for ONNX
 * sessions; the test checks what the evaluation computes and writes.
 */
const N = 200;
/** Patients of the shifted-site split, whose image signal is weaker (another detector). */
const N_SHIFTED = 120;
let root: string;

function manifestFor(name: string, inputs: TensorSpec[]): ModelManifest {
  return {
    schemaVersion: 1,
    name,
    version: '1',
    title: name,
    description: 'synthetic test model',
    trainingData: { synthetic: true, description: 'synthetic' },
    files: {},
    inputs,
    outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 1], role: 'probabilities' }],
    preprocessing: {
      tabular: { lookbackHours: 1, features: [{ name: 'x', loinc: ['1-1'], unit: '1', aggregate: 'last', plausible: { min: -10, max: 10 }, mean: 0, std: 1 }] },
      image: { lookbackHours: 1, modalities: ['CR'], bodyPart: 'CHEST', viewPositions: ['PA'], size: [1, 1], mean: 0, std: 1 },
    },
    outcomes: [{ index: 0, coding: { system: 'http://snomed.info/sct', code: '233604007', display: 'Pneumonia' }, thresholds: [{ min: 0, code: 'low' }] }],
    applicability: { requires: ['tabular'], toleratesMissing: ['image'] },
  };
}

const tab: TensorSpec[] = [
  { name: 'tabular_values', dtype: 'float32', shape: [-1, 1], role: 'tabular-values' },
  { name: 'tabular_mask', dtype: 'float32', shape: [-1, 1], role: 'tabular-mask' },
];
const fusionInputs: TensorSpec[] = [
  ...tab,
  { name: 'image', dtype: 'float32', shape: [-1, 1, 1, 1], role: 'image' },
  { name: 'modality_mask', dtype: 'float32', shape: [-1, 4], role: 'modality-mask' },
];

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function runnerFor(path: string) {
  const fusion = path.includes('fusion');
  return Promise.resolve({
    run(feeds: Record<string, FeedTensor>): Promise<Float32Array> {
      const x = feeds['tabular_values']?.data as Float32Array;
      const image = feeds['image']?.data as Float32Array | undefined;
      return Promise.resolve(Float32Array.from(x, (v, i) => sigmoid(v + (fusion && image ? 2 * (image[i] ?? 0) : 0))));
    },
    release: () => Promise.resolve(),
  });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'evaluate-models-'));
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'dataset.json'), JSON.stringify({ description: 'unit-test cohort' }));
  // Deterministic pseudo-random signals (LCG), so the test needs no seed library.
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const f32 = (shape: number[], d: Float32Array) => serializeNpy({ dtype: 'float32', shape, data: d });
  const writeSplit = (split: string, n: number, imageGain: number) => {
    const dir = join(data, split);
    mkdirSync(dir, { recursive: true });
    const x = new Float32Array(n);
    const img = new Float32Array(n);
    const labels = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x[i] = rand() * 2 - 1;
      img[i] = rand() * 2 - 1;
      labels[i] = x[i]! + 2 * img[i]! + (rand() - 0.5) > 0 ? 1 : 0;
      img[i] = img[i]! * imageGain;
    }
    writeFileSync(join(dir, 'tabular_values.npy'), f32([n, 1], x));
    writeFileSync(join(dir, 'tabular_mask.npy'), f32([n, 1], new Float32Array(n).fill(1)));
    writeFileSync(join(dir, 'image.npy'), f32([n, 1, 1, 1], img));
    writeFileSync(join(dir, 'labels.npy'), f32([n, 1], labels));
    writeFileSync(join(dir, 'modality_mask.npy'), f32([n, 4], Float32Array.from({ length: n * 4 }, () => 1)));
    writeFileSync(join(dir, 'age.npy'), f32([n], Float32Array.from({ length: n }, (_, i) => 30 + (i % 60))));
    writeFileSync(join(dir, 'sex_female.npy'), f32([n], Float32Array.from({ length: n }, (_, i) => i % 2)));
  };
  writeSplit('test', N, 1);
  writeSplit('test-shifted', N_SHIFTED, 0.25);
  for (const [name, inputs] of [['tabular-only', tab], ['late-fusion', fusionInputs]] as const) {
    const folder = join(root, 'models', name, '1');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'model.onnx'), `fake ${name}`);
    writeFileSync(join(folder, 'card.md'), `# ${name}\n\n${METRICS_START}\nold\n${METRICS_END}\n\n## Maintenance\n`);
    writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifestFor(name, [...inputs])));
  }
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('evaluateReferenceModels', () => {
  let reports: Record<string, ModelMetricsReport>;

  beforeAll(async () => {
    reports = await evaluateReferenceModels({ modelsDir: join(root, 'models'), datasetDir: join(root, 'data'), openRunner: runnerFor });
  });

  it('scores every model and reports per-outcome metrics and subgroups', () => {
    const single = reports['tabular-only'];
    expect(single?.population.patients).toBe(N);
    expect(single?.overall['233604007']?.n).toBe(N);
    expect(Object.keys(single?.subgroups ?? {})).toEqual(['sex:female', 'sex:male', 'age:18-49', 'age:50-64', 'age:65-79', 'age:80+']);
    expect(single?.subgroups['sex:female']?.['233604007']?.n).toBe(N / 2);
  });

  it('shows the fusion model beating the single-modality model and losing ground without the image', () => {
    const fusion = reports['late-fusion'];
    const single = reports['tabular-only']?.overall['233604007']?.auroc ?? 1;
    const fused = fusion?.overall['233604007']?.auroc ?? 0;
    expect(fused).toBeGreaterThan(single);
    expect(fusion?.comparison?.fusionBeatsBestSingleModality['233604007']).toBe(true);
    expect(fusion?.comparison?.bestSingleModality['233604007']?.model).toBe('tabular-only');
    expect(fusion?.comparison?.wholePopulation?.patients).toBe(N);
    expect(fusion?.comparison?.wholePopulation?.fusionBeatsBestSingleModality['233604007']).toBe(true);
    // Without the image the fusion model sees what the single model sees: the same AUROC.
    expect(fusion?.modalityRemoved?.['image']?.['233604007']?.auroc).toBeCloseTo(single, 6);
  });

  it('evaluates the shifted-site split separately, with its own tables and intervals in the card', () => {
    const fusion = reports['late-fusion'];
    const shifted = fusion?.shiftedSite;
    expect(shifted?.dataset.split).toBe('test-shifted');
    expect(shifted?.overall['233604007']?.n).toBe(N_SHIFTED);
    expect(shifted && 'plots' in shifted).toBe(false);
    // The fusion model relies on the image, whose signal the other detector weakens.
    const sameSite = fusion?.overall['233604007']?.auroc ?? 0;
    expect(shifted?.overall['233604007']?.auroc ?? 1).toBeLessThan(sameSite);
    expect(shifted?.statistics?.fusionVersusBestSingle?.patients).toBe(N_SHIFTED);
    const folder = join(root, 'models', 'late-fusion', '1');
    const card = readFileSync(join(folder, 'card.md'), 'utf8');
    const tail = card.slice(card.indexOf('### Shifted-site test set'));
    expect(card.indexOf('### Shifted-site test set')).toBeGreaterThan(card.indexOf('Plots: ROC curves'));
    expect(tail).toContain(`shifted-site synthetic test split (${N_SHIFTED} patients`);
    expect(tail).toContain('**Uncertainty: 95 % bootstrap intervals**');
    expect(tail).toContain('**Fusion minus the best single-modality model**');
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as ModelManifest;
    expect((manifest.metrics as unknown as ModelMetricsReport).shiftedSite?.overall['233604007']?.n).toBe(N_SHIFTED);
  });

  it('writes metrics, the card section, plots and fresh sha256 values', () => {
    const folder = join(root, 'models', 'late-fusion', '1');
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as ModelManifest;
    expect((manifest.metrics as unknown as ModelMetricsReport).overall['233604007']?.n).toBe(N);
    const card = readFileSync(join(folder, 'card.md'), 'utf8');
    expect(card).not.toContain('\nold\n');
    expect(card).toContain('fusion beats best single modality | yes');
    expect(card).toContain('## Maintenance');
    for (const file of ['roc.png', 'calibration.png']) {
      const png = PNG.sync.read(readFileSync(join(folder, file)));
      expect([png.width, png.height]).toEqual([360, 360]);
    }
    expect(Object.keys(manifest.files).sort()).toEqual(['calibration.png', 'card.md', 'model.onnx', 'roc.png']);
    expect(manifest.files['card.md']).toBe(createHash('sha256').update(readFileSync(join(folder, 'card.md'))).digest('hex'));
  });

  it('adds bootstrap intervals, subgroup calibration and a paired fusion-minus-best-single test (issue 19)', () => {
    const stats = reports['late-fusion']?.statistics;
    const auroc = stats?.overall['233604007']?.auroc;
    expect(auroc?.value).toBe(reports['late-fusion']?.overall['233604007']?.auroc);
    expect(auroc?.lower).toBeLessThanOrEqual(auroc?.value ?? 0);
    expect(auroc?.upper).toBeGreaterThanOrEqual(auroc?.value ?? 1);
    expect(auroc!.upper! - auroc!.lower!).toBeGreaterThan(0);
    expect(Object.keys(stats?.subgroupEce ?? {})).toHaveLength(6);
    expect(stats?.subgroupEce['sex:female']?.byOutcome['233604007']?.value).toBe(
      reports['late-fusion']?.subgroups['sex:female']?.['233604007']?.ece,
    );
    const difference = stats?.fusionVersusBestSingle?.byOutcome['233604007'];
    expect(difference?.bestSingleModality).toBe('tabular-only');
    expect(difference?.difference.lower).toBeGreaterThan(0);
    expect(difference?.fusionBetter).toBe(true);
    expect(reports['tabular-only']?.statistics?.fusionVersusBestSingle).toBeUndefined();
    const card = readFileSync(join(root, 'models', 'late-fusion', '1', 'card.md'), 'utf8');
    expect(card).toContain('**Uncertainty: 95 % bootstrap intervals**');
    expect(card).toContain('**Calibration by subgroup**');
    expect(card).toMatch(/\| Pneumonia \| tabular-only \| [0-9.]+ \| [0-9.]+ \| \+[0-9.]+ \[\+[0-9.]+, \+[0-9.]+\] \| .* \| yes \|/);
  });

  it('reproduces the cards byte for byte on a second run (seeded bootstrap)', async () => {
    const card = (name: string): string => readFileSync(join(root, 'models', name, '1', 'card.md'), 'utf8');
    const before = [card('late-fusion'), card('tabular-only')];
    await evaluateReferenceModels({ modelsDir: join(root, 'models'), datasetDir: join(root, 'data'), openRunner: runnerFor });
    expect([card('late-fusion'), card('tabular-only')]).toEqual(before);
  });
});
