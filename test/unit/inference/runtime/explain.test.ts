import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainRows, interpretRows } from '../../../../src/inference/runtime/explain.js';
import type { ModelManifest } from '../../../../src/contracts/manifest-types.js';
import { checkRequestTensors } from '../../../../src/inference/runtime/request-tensors.js';
import { testModelsDir } from '../../../fixtures/models/model-fixtures.js';

const fusion = JSON.parse(
  readFileSync(join(testModelsDir, 'tiny-fusion', '1.0.0', 'manifest.json'), 'utf8'),
) as ModelManifest;

function request(mask: number[]) {
  return checkRequestTensors(fusion, {
    tabular_values: { dtype: 'float32', dims: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
    tabular_mask: { dtype: 'float32', dims: [1, 4], data: new Float32Array(mask) },
    image: { dtype: 'float32', dims: [1, 1, 8, 8], data: new Float32Array(64).fill(0.5) },
    modality_mask: { dtype: 'float32', dims: [1, 4], data: new Float32Array([1, 0, 1, 0]) },
  });
}

function feedsFor(rows: number) {
  return {
    tabular_values: new Float32Array(rows * 4),
    tabular_mask: new Float32Array(rows * 4),
    image: new Float32Array(rows * 64),
    modality_mask: new Float32Array(rows * 4),
  };
}

describe('explainRows', () => {
  it('plans the patient, one row per proper coalition of present consumed modalities and one per present feature', () => {
    const plan = explainRows(
      fusion,
      request([1, 0, 1, 1]),
      { presence: { tabular: true, image: true, text: true } },
      true,
    );
    // text is "present" but this model has no text input, so no row for it; feature 1 is masked out.
    expect(plan.variants).toEqual([
      { kind: 'full' },
      { kind: 'coalition', masked: ['tabular'] },
      { kind: 'coalition', masked: ['image'] },
      { kind: 'coalition', masked: ['tabular', 'image'] },
      { kind: 'feature', index: 0 },
      { kind: 'feature', index: 2 },
      { kind: 'feature', index: 3 },
    ]);
  });

  it('plans only the patient row when explanations are off', () => {
    expect(
      explainRows(fusion, request([1, 1, 1, 1]), { presence: { tabular: true, image: true } }, false)
        .variants,
    ).toEqual([{ kind: 'full' }]);
  });

  it('writes masked copies at the right offsets without touching the other rows', () => {
    const plan = explainRows(
      fusion,
      request([1, 1, 1, 1]),
      { presence: { tabular: true, image: true } },
      true,
    );
    const feeds = feedsFor(plan.variants.length + 1);
    plan.writeRows(feeds, 1);
    expect([...feeds.tabular_values.subarray(0, 4)]).toEqual([0, 0, 0, 0]); // row 0 is someone else's
    expect([...feeds.tabular_values.subarray(4, 8)]).toEqual([1, 2, 3, 4]);
    expect([...feeds.modality_mask.subarray(4, 8)]).toEqual([1, 0, 1, 0]);
    // row 2: tabular masked
    expect([...feeds.tabular_values.subarray(8, 12)]).toEqual([0, 0, 0, 0]);
    expect([...feeds.tabular_mask.subarray(8, 12)]).toEqual([0, 0, 0, 0]);
    expect([...feeds.modality_mask.subarray(8, 12)]).toEqual([0, 0, 1, 0]);
    expect(feeds.image[2 * 64]).toBe(0.5);
    // row 3: image masked
    expect(feeds.image.subarray(3 * 64, 4 * 64).every((v) => v === 0)).toBe(true);
    expect([...feeds.modality_mask.subarray(12, 16)]).toEqual([1, 0, 0, 0]);
    // row 4: the Shapley baseline, both masked
    expect([...feeds.tabular_values.subarray(16, 20)]).toEqual([0, 0, 0, 0]);
    expect(feeds.image.subarray(4 * 64, 5 * 64).every((v) => v === 0)).toBe(true);
    expect([...feeds.modality_mask.subarray(16, 20)]).toEqual([0, 0, 0, 0]);
    // row 5: feature 0 masked only
    expect([...feeds.tabular_values.subarray(20, 24)]).toEqual([0, 2, 3, 4]);
    expect([...feeds.tabular_mask.subarray(20, 24)]).toEqual([0, 1, 1, 1]);
  });
});

describe('interpretRows', () => {
  it('calibrates, bands, computes Shapley modality values and feature deltas, top-k by strength', () => {
    const tensors = request([1, 1, 1, 1]);
    const meta = {
      presence: { tabular: true, image: true },
      tabularFeatures: [
        { name: 'heart_rate', value: 95 },
        { name: 'creatinine', value: null },
      ],
    };
    const plan = explainRows(fusion, tensors, meta, true);
    // rows: full, -tabular, -image, -both, -f0, -f1, -f2, -f3; two outcomes each (outcome 0 has Platt calibration)
    const raw = [0.5, 0.6, 0.5, 0.1, 0.5, 0.6, 0.5, 0.05, 0.5, 0.59, 0.5, 0.3, 0.5, 0.6, 0.5, 0.45];
    const out = interpretRows(fusion, tensors, meta, plan.variants, raw, 2, 2);
    const p0 = 1 / (1 + Math.exp(0.2)); // Platt a=1.1, b=-0.2 at logit 0
    expect(out.predictions[0]!.probability).toBeCloseTo(p0, 9);
    expect(out.predictions[1]).toEqual({
      outcomeIndex: 1,
      probability: expect.closeTo(0.6, 6),
      qualitativeRisk: 'high',
    });
    expect(out.modalityContributions).toEqual([
      // outcome 1: v(both)=0.6, v(image only)=0.1, v(tabular only)=0.6, v(none)=0.05.
      // φ_tabular = ½(0.6−0.05) + ½(0.6−0.1) = 0.525; φ_image = ½(0.1−0.05) + ½(0.6−0.6) = 0.025.
      { modality: 'tabular', delta: [expect.closeTo(0, 9), expect.closeTo(0.525, 6)] },
      { modality: 'image', delta: [expect.closeTo(0, 9), expect.closeTo(0.025, 6)] },
    ]);
    const total = out.modalityContributions.reduce((sum, c) => sum + c.delta[1]!, 0);
    expect(total).toBeCloseTo(0.6 - 0.05, 9);
    expect(out.featureContributions.map((f) => f.feature)).toEqual(['creatinine', 'sex_female']);
    expect(out.featureContributions[0]!.delta[1]).toBeCloseTo(0.3, 6);
    // creatinine value was null in meta: recovered from the normalised tensor (2 * 0.4 + 1.0).
    expect(out.featureContributions[0]!.value).toBeCloseTo(1.8, 6);
    expect(out.featureContributions[0]!.unit).toBe('mg/dL');
  });
});

describe('explainRows with int64 text tokens', () => {
  it('masks the text modality by zeroing its tokens (0n = pad) and its modality-mask entry', () => {
    const manifest: ModelManifest = {
      ...fusion,
      inputs: [
        { name: 'tokens', dtype: 'int64', shape: [-1, 3], role: 'text-tokens' },
        { name: 'modality_mask', dtype: 'float32', shape: [-1, 4], role: 'modality-mask' },
      ],
      preprocessing: {},
    };
    const tensors = checkRequestTensors(manifest, {
      tokens: { dtype: 'int64', dims: [1, 3], data: new BigInt64Array([5n, 7n, 9n]) },
      modality_mask: { dtype: 'float32', dims: [1, 4], data: new Float32Array([0, 1, 0, 0]) },
    });
    const plan = explainRows(manifest, tensors, { presence: { text: true, tabular: true } }, true);
    expect(plan.variants).toEqual([{ kind: 'full' }, { kind: 'coalition', masked: ['text'] }]);
    const feeds = { tokens: new BigInt64Array(6), modality_mask: new Float32Array(8) };
    plan.writeRows(feeds, 0);
    expect([...feeds.tokens]).toEqual([5n, 7n, 9n, 0n, 0n, 0n]);
    expect([...feeds.modality_mask]).toEqual([0, 1, 0, 0, 0, 0, 0, 0]);
  });
});
