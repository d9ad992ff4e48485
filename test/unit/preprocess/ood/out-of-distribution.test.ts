import { describe, expect, it } from 'vitest';
import type { ModelManifest, OodDetector } from '../../../../src/contracts/manifest-types.js';
import { parseManifest } from '../../../../src/inference/manifest/manifest-schema.js';
import {
  checkOutOfDistribution,
  mahalanobis,
  oodStatistics,
  tabularRangeExceedance,
} from '../../../../src/preprocess/ood/out-of-distribution.js';
import {
  ECG_WAVEFORM_STATISTICS,
  IMAGE_STATISTICS,
  ecgWaveformSummary,
  imageSummary,
  textSummary,
} from '../../../../src/preprocess/ood/tensor-summary.js';

const feature = (name: string) => ({
  name,
  loinc: ['1-1'],
  unit: '1',
  aggregate: 'last' as const,
  plausible: { min: -100, max: 100 },
  mean: 0,
  std: 1,
});

function manifest(outOfDistribution?: ModelManifest['outOfDistribution']): ModelManifest {
  return {
    schemaVersion: 1,
    name: 'ood-test',
    version: '1',
    title: 'OOD test',
    description: 'synthetic',
    trainingData: { synthetic: true, description: 'synthetic' },
    files: { 'model.onnx': '0'.repeat(64) },
    inputs: [
      { name: 'tabular_values', dtype: 'float32', shape: [-1, 2], role: 'tabular-values' },
      { name: 'tabular_mask', dtype: 'float32', shape: [-1, 2], role: 'tabular-mask' },
      { name: 'image', dtype: 'float32', shape: [-1, 1, 4, 4], role: 'image' },
    ],
    outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 1], role: 'probabilities' }],
    preprocessing: {
      tabular: { lookbackHours: 1, features: [feature('a'), feature('b')] },
      image: {
        lookbackHours: 1,
        modalities: ['CR'],
        bodyPart: 'CHEST',
        viewPositions: [],
        size: [4, 4],
        mean: 0,
        std: 1,
      },
    },
    outcomes: [
      {
        index: 0,
        coding: { system: 'http://snomed.info/sct', code: '1', display: 'x' },
        thresholds: [{ min: 0, code: 'low' }],
      },
    ],
    applicability: { requires: [], toleratesMissing: ['tabular', 'image'] },
    ...(outOfDistribution ? { outOfDistribution } : {}),
  };
}

const range: OodDetector = { method: 'tabular-range', low: [-2, -1], high: [2, 1], threshold: 0.5 };

describe('tabular range exceedance', () => {
  it('is 0 inside the training range, the distance beyond it outside, ignores absent features, NaN with none present', () => {
    const mask = Float32Array.of(1, 1);
    expect(tabularRangeExceedance(Float32Array.of(1.9, -0.9), mask, [-2, -1], [2, 1])).toBe(0);
    expect(tabularRangeExceedance(Float32Array.of(3, -0.9), mask, [-2, -1], [2, 1])).toBeCloseTo(1, 6);
    expect(tabularRangeExceedance(Float32Array.of(0, -4), mask, [-2, -1], [2, 1])).toBeCloseTo(3, 6);
    expect(tabularRangeExceedance(Float32Array.of(50, 0), Float32Array.of(0, 1), [-2, -1], [2, 1])).toBe(0);
    expect(tabularRangeExceedance(Float32Array.of(0, 0), Float32Array.of(0, 0), [-2, -1], [2, 1])).toBeNaN();
  });
});

describe('checkOutOfDistribution', () => {
  const tabular = (a: number, b: number) => ({
    'tabular-values': Float32Array.of(a, b),
    'tabular-mask': Float32Array.of(1, 1),
  });
  const section = { targetFalseAlarmRate: 0.01, calibration: 'unit test', modalities: { tabular: range } };

  it('passes everything when the manifest has no detectors, and in-range input when it has', () => {
    expect(checkOutOfDistribution(manifest(), 'tabular', tabular(99, 99)).ok).toBe(true);
    expect(checkOutOfDistribution(manifest(section), 'tabular', tabular(2.4, 0)).ok).toBe(true);
    expect(checkOutOfDistribution(manifest(section), 'image', {}).ok).toBe(true);
  });

  it('names an input above the threshold out-of-distribution, with its score and the threshold', () => {
    expect(checkOutOfDistribution(manifest(section), 'tabular', tabular(5, 0))).toEqual({
      ok: false,
      reason: 'out-of-distribution',
      detail:
        'labs and vital signs unlike the training data: out-of-distribution score 3.00 above the threshold 0.50 (set to 1 % false alarms on held-out synthetic patients)',
    });
  });

  it('refuses rather than guesses when the manifest was calibrated on other statistics', () => {
    const stale: OodDetector = {
      method: 'summary-mahalanobis',
      statistics: ['mean'],
      center: [0],
      scale: [1],
      precision: [[1]],
      threshold: 3,
    };
    expect(
      checkOutOfDistribution(manifest({ ...section, modalities: { image: stale } }), 'image', {
        image: new Float32Array(16),
      }),
    ).toMatchObject({
      ok: false,
      reason: 'out-of-distribution',
      detail: expect.stringContaining('do not match this version'),
    });
  });

  it('scores an image by the Mahalanobis distance of its summary statistics', () => {
    const n = IMAGE_STATISTICS.length;
    const identity = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
    );
    const flat = new Float32Array(16).fill(0.5);
    const centre = oodStatistics(manifest(), 'image', { image: flat }) ?? [];
    const detector: OodDetector = {
      method: 'summary-mahalanobis',
      statistics: [...IMAGE_STATISTICS],
      center: centre,
      scale: centre.map(() => 0.1),
      precision: identity,
      threshold: 1,
    };
    const m = manifest({ ...section, modalities: { image: detector } });
    expect(checkOutOfDistribution(m, 'image', { image: flat }).ok).toBe(true);
    const brighter = new Float32Array(16).fill(0.6);
    // mean, p05 and p95 each move by one scale: distance √3.
    expect(
      mahalanobis(
        { center: centre, scale: detector.scale ?? [], precision: identity },
        oodStatistics(m, 'image', { image: brighter }) ?? [],
      ),
    ).toBeCloseTo(Math.sqrt(3), 4);
    expect(checkOutOfDistribution(m, 'image', { image: brighter })).toMatchObject({
      ok: false,
      detail: expect.stringContaining('score 1.73 above the threshold 1.00'),
    });
  });
});

describe('tensor summaries', () => {
  it('image: a left-right symmetric image has no mirror difference; a bright centre column shows as centre minus sides', () => {
    const img = new Float32Array(36);
    for (let y = 0; y < 6; y++) for (let x = 2; x < 4; x++) img[y * 6 + x] = 1;
    const s = imageSummary(img, 6, 6);
    expect(s[IMAGE_STATISTICS.indexOf('mirror_abs_diff')]).toBe(0);
    expect(s[IMAGE_STATISTICS.indexOf('centre_minus_sides')]).toBe(1);
    expect(s[IMAGE_STATISTICS.indexOf('mean_abs_dy')]).toBe(0);
  });

  it('ECG: limb leads obeying Einthoven (II = I + III) have no residual, a miswired lead II has; a gain shows in log RMS', () => {
    const leads = ['I', 'II', 'III'];
    const n = 200;
    const data = new Float32Array(3 * n);
    for (let t = 0; t < n; t++) {
      const i = Math.sin(t / 7);
      const iii = 0.5 * Math.cos(t / 5);
      data[t] = i;
      data[n + t] = i + iii;
      data[2 * n + t] = iii;
    }
    const at = (name: (typeof ECG_WAVEFORM_STATISTICS)[number], d: Float32Array) =>
      ecgWaveformSummary(d, leads, n)[ECG_WAVEFORM_STATISTICS.indexOf(name)] ?? Number.NaN;
    expect(at('einthoven_residual', data)).toBeCloseTo(0, 5);
    // Lead II recorded from the wrong electrode pair (a copy of I): II − I − III = −III.
    const miswired = Float32Array.from(data);
    miswired.set(data.subarray(0, n), n);
    expect(at('einthoven_residual', miswired)).toBeGreaterThan(0.3);
    const doubled = Float32Array.from(data, (v) => 2 * v);
    expect(at('log_rms', doubled) - at('log_rms', data)).toBeCloseTo(Math.log(2), 2);
  });

  it('text: length, unknown and distinct fractions of the non-padding tokens', () => {
    expect(textSummary(BigInt64Array.from([5n, 1n, 5n, 1n, 0n, 0n, 0n, 0n]))).toEqual([0.5, 0.5, 0.5]);
  });
});

describe('manifest schema: outOfDistribution', () => {
  const section = { targetFalseAlarmRate: 0.01, calibration: 'unit test', modalities: { tabular: range } };

  it('accepts a consistent section', () => {
    expect(parseManifest(manifest(section)).ok).toBe(true);
  });

  it('refuses ranges that do not cover every feature, detectors for modalities the model does not read, and mis-sized Mahalanobis parts', () => {
    const bad = manifest({
      targetFalseAlarmRate: 0.01,
      calibration: 'unit test',
      modalities: {
        tabular: { ...range, low: [0] },
        ecg: {
          method: 'summary-mahalanobis',
          statistics: ['a', 'b'],
          center: [0, 0],
          scale: [1],
          precision: [[1, 0]],
          threshold: 1,
        },
      },
    });
    const result = parseManifest(bad);
    expect(result.ok).toBe(false);
    const pointers = result.ok ? [] : result.issues.map((i) => i.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining([
        '/outOfDistribution/modalities/tabular/low',
        '/outOfDistribution/modalities/ecg',
        '/outOfDistribution/modalities/ecg/scale',
        '/outOfDistribution/modalities/ecg/precision',
      ]),
    );
  });
});

describe('preprocessRecord with an out-of-distribution tabular modality', () => {
  it('does not count its features as evidence for the abstention rules', async () => {
    const { preprocessRecord } = await import('../../../../src/preprocess/preprocess-record.js');
    const potassium = {
      name: 'potassium',
      loinc: ['2823-3'],
      unit: 'mmol/L',
      aggregate: 'last' as const,
      plausible: { min: 1, max: 10 },
      mean: 4,
      std: 0.5,
    };
    const base = manifest();
    const m: ModelManifest = {
      ...base,
      inputs: base.inputs.map((i) => (i.role === 'image' ? i : { ...i, shape: [-1, 1] })),
      preprocessing: { ...base.preprocessing, tabular: { lookbackHours: 24, features: [potassium] } },
      abstention: { minimumInformation: { anyOf: [{ features: ['potassium'], atLeast: 1 }] } },
      outOfDistribution: {
        targetFalseAlarmRate: 0.01,
        calibration: 'unit test',
        modalities: { tabular: { method: 'tabular-range', low: [-2], high: [2], threshold: 0 } },
      },
    };
    const missing = { status: 'missing' as const, reason: 'none-in-window' as const, detail: 'none' };
    const record = (value: number) => ({
      patient: { resourceType: 'Patient' as const, id: 'p' },
      asOf: '2025-01-01T12:00:00Z',
      roundTrips: 0,
      modalities: {
        tabular: {
          status: 'present' as const,
          sources: [],
          data: [
            {
              resourceType: 'Observation' as const,
              id: 'k',
              status: 'final' as const,
              code: { coding: [{ system: 'http://loinc.org', code: '2823-3' }] },
              effectiveDateTime: '2025-01-01T11:00:00Z',
              valueQuantity: { value, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
            },
          ],
        },
        text: missing,
        image: missing,
        ecg: missing,
      },
    });
    expect(preprocessRecord(record(4.4), m, '.').notAssessed).toEqual([]);
    const flagged = preprocessRecord(record(8.8), m, '.');
    expect(flagged.missing.map((x) => x.reason)).toEqual(['out-of-distribution', 'none-in-window']);
    expect(flagged.notAssessed).toEqual([
      {
        outcomeIndex: 0,
        reason: 'too-little-information',
        detail: 'too little information: needs potassium',
      },
    ]);
  });
});
