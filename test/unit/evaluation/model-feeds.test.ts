import { describe, expect, it } from 'vitest';
import type { EvaluationDataset } from '../../../src/evaluation/evaluation-dataset.js';
import { buildFeeds, modelModalities } from '../../../src/evaluation/model-feeds.js';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';

function manifest(): ModelManifest {
  return {
    schemaVersion: 1,
    name: 'fusion-test',
    version: '1',
    title: 't',
    description: 'synthetic',
    trainingData: { synthetic: true, description: 'synthetic' },
    files: {},
    inputs: [
      { name: 'tabular_values', dtype: 'float32', shape: [-1, 2], role: 'tabular-values' },
      { name: 'tabular_mask', dtype: 'float32', shape: [-1, 2], role: 'tabular-mask' },
      { name: 'image', dtype: 'float32', shape: [-1, 1, 1, 2], role: 'image' },
      { name: 'text_tokens', dtype: 'int64', shape: [-1, 2], role: 'text-tokens' },
      { name: 'modality_mask', dtype: 'float32', shape: [-1, 4], role: 'modality-mask' },
    ],
    outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 1], role: 'probabilities' }],
    preprocessing: {
      tabular: {
        lookbackHours: 24,
        features: [
          { name: 'a', loinc: ['1-1'], unit: '1', aggregate: 'last', plausible: { min: 0, max: 100 }, mean: 10, std: 2 },
          { name: 'b', loinc: ['2-2'], unit: '1', aggregate: 'last', plausible: { min: 0, max: 100 }, mean: 0, std: 4 },
        ],
      },
      image: { lookbackHours: 1, modalities: ['CR'], bodyPart: 'CHEST', viewPositions: ['PA'], size: [1, 2], mean: 0.5, std: 0.25 },
    },
    outcomes: [],
    applicability: { requires: ['tabular'], toleratesMissing: ['text', 'image'] },
  };
}

function dataset(): EvaluationDataset {
  const f32 = (shape: number[], values: number[]) => ({ dtype: 'float32' as const, shape, data: Float32Array.from(values) });
  const modalityMask = Float32Array.of(1, 1, 1, 0, 1, 0, 0, 0);
  return {
    size: 2,
    outcomes: 1,
    labels: Float32Array.of(0, 1),
    ageYears: Float32Array.of(40, 70),
    sexFemale: Float32Array.of(1, 0),
    modalityMask,
    arrays: {
      tabular_values: f32([2, 2], [14, 0, 6, 8]),
      tabular_mask: f32([2, 2], [1, 0, 1, 1]),
      image: f32([2, 1, 1, 2], [1, 0.5, 0, 0]),
      text_tokens: { dtype: 'int64', shape: [2, 2], data: BigInt64Array.of(5n, 6n, 7n, 0n) },
      modality_mask: f32([2, 4], [...modalityMask]),
    },
  };
}

describe('buildFeeds', () => {
  it('normalises present tabular values with the manifest statistics and leaves absent ones 0', () => {
    const feeds = buildFeeds(manifest(), dataset(), [0, 1]);
    expect([...(feeds['tabular_values']?.data as Float32Array)]).toEqual([2, 0, -2, 2]);
    expect(feeds['tabular_values']?.dims).toEqual([2, 2]);
  });

  it('normalises present images and feeds absent modalities as zeros with mask 0', () => {
    const feeds = buildFeeds(manifest(), dataset(), [0, 1]);
    expect([...(feeds['image']?.data as Float32Array)]).toEqual([2, 0, 0, 0]);
    expect([...(feeds['text_tokens']?.data as BigInt64Array)]).toEqual([5n, 6n, 0n, 0n]);
    expect([...(feeds['modality_mask']?.data as Float32Array)]).toEqual([1, 1, 1, 0, 1, 0, 0, 0]);
  });

  it('removes a modality the way the server feeds a missing one', () => {
    const feeds = buildFeeds(manifest(), dataset(), [0], ['image']);
    expect([...(feeds['image']?.data as Float32Array)]).toEqual([0, 0]);
    expect([...(feeds['modality_mask']?.data as Float32Array)]).toEqual([1, 1, 0, 0]);
  });

  it('selects rows in the order given', () => {
    const feeds = buildFeeds(manifest(), dataset(), [1, 0]);
    expect([...(feeds['tabular_values']?.data as Float32Array)]).toEqual([-2, 2, 2, 0]);
  });

  it('names the modalities a model consumes in MODALITY_ORDER', () => {
    expect(modelModalities(manifest())).toEqual(['tabular', 'text', 'image']);
  });
});
