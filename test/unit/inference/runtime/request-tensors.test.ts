import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InferenceInputError } from '../../../../src/inference/runtime/inference-errors.js';
import type { ModelManifest } from '../../../../src/contracts/manifest-types.js';
import { checkRequestTensors } from '../../../../src/inference/runtime/request-tensors.js';
import type { TensorData } from '../../../../src/inference/manifest/tensor-data.js';
import { testModelsDir } from '../../../fixtures/models/model-fixtures.js';

const manifest = JSON.parse(
  readFileSync(join(testModelsDir, 'tiny-logistic', '1.0.0', 'manifest.json'), 'utf8'),
) as ModelManifest;
const good = (): Record<string, TensorData> => ({
  tabular_values: { dtype: 'float32', dims: [1, 4], data: new Float32Array(4) },
  tabular_mask: { dtype: 'float32', dims: [1, 4], data: new Float32Array(4) },
});

function errorOf(tensors: Record<string, TensorData>): InferenceInputError {
  try {
    checkRequestTensors(manifest, tensors);
  } catch (error) {
    if (error instanceof InferenceInputError) return error;
    throw error;
  }
  throw new Error('expected an InferenceInputError');
}

describe('checkRequestTensors', () => {
  it('accepts one well-formed row per input and strips the batch axis', () => {
    const checked = checkRequestTensors(manifest, good());
    expect(checked.inputs.tabular_values!.dims).toEqual([4]);
    expect(checked.shapeKey).toBe('4|4');
  });

  it('names a missing input', () => {
    const t = good();
    delete t.tabular_mask;
    expect(errorOf(t)).toMatchObject({ tensor: 'tabular_mask', detail: 'missing' });
  });

  it('names an input the model does not have', () => {
    expect(
      errorOf({ ...good(), image: { dtype: 'float32', dims: [1], data: new Float32Array(1) } }).tensor,
    ).toBe('image');
  });

  it('refuses wrong dtype, wrong typed array, batch > 1, wrong static dim and wrong length', () => {
    expect(
      errorOf({ ...good(), tabular_values: { dtype: 'int32', dims: [1, 4], data: new Int32Array(4) } })
        .detail,
    ).toBe('dtype int32, manifest says float32');
    expect(
      errorOf({
        ...good(),
        tabular_values: {
          dtype: 'float32',
          dims: [1, 4],
          data: new Float64Array(4) as unknown as Float32Array,
        },
      }).detail,
    ).toMatch(/typed array/);
    expect(
      errorOf({ ...good(), tabular_values: { dtype: 'float32', dims: [2, 4], data: new Float32Array(8) } })
        .detail,
    ).toMatch(/batch axis must be 1/);
    expect(
      errorOf({ ...good(), tabular_values: { dtype: 'float32', dims: [1, 5], data: new Float32Array(5) } })
        .detail,
    ).toBe('axis 1 is 5, manifest says 4');
    expect(
      errorOf({ ...good(), tabular_values: { dtype: 'float32', dims: [1, 4], data: new Float32Array(3) } })
        .detail,
    ).toMatch(/3 elements/);
  });
});
