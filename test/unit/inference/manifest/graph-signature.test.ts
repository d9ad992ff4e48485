import { describe, expect, it } from 'vitest';
import { compareSignature, type GraphValueInfo } from '../../../../src/inference/manifest/graph-signature.js';
import type { TensorSpec } from '../../../../src/contracts/manifest-types.js';

const graphIn: GraphValueInfo[] = [
  { name: 'a', isTensor: true, type: 'float32', shape: ['batch', 4] },
  { name: 'b', isTensor: true, type: 'int64', shape: ['batch', 16] },
];
const graphOut: GraphValueInfo[] = [{ name: 'p', isTensor: true, type: 'float32', shape: ['batch', 2] }];
const out: TensorSpec[] = [{ name: 'p', dtype: 'float32', shape: [-1, 2], role: 'probabilities' }];

describe('compareSignature', () => {
  it('finds nothing when manifest and graph agree', () => {
    const inputs: TensorSpec[] = [
      { name: 'a', dtype: 'float32', shape: [-1, 4], role: 'tabular-values' },
      { name: 'b', dtype: 'int64', shape: [-1, 16], role: 'text-tokens' },
    ];
    expect(compareSignature(inputs, out, { inputs: graphIn, outputs: graphOut })).toEqual([]);
  });

  it('names a manifest input missing from the graph and lists the graph inputs', () => {
    const inputs: TensorSpec[] = [
      { name: 'a', dtype: 'float32', shape: [-1, 4], role: 'tabular-values' },
      { name: 'x', dtype: 'int64', shape: [-1, 16], role: 'text-tokens' },
    ];
    const found = compareSignature(inputs, out, { inputs: graphIn, outputs: graphOut });
    expect(found).toContainEqual({
      subject: "manifest input 'x'",
      detail: 'not in graph (graph inputs: a, b)',
    });
    expect(found).toContainEqual({
      subject: "graph input 'b'",
      detail: 'not in manifest (manifest inputs: a, x)',
    });
  });

  it('reports dtype, rank, static-dim and dynamic-batch differences exactly', () => {
    const inputs: TensorSpec[] = [
      { name: 'a', dtype: 'int32', shape: [-1, 5], role: 'tabular-values' },
      { name: 'b', dtype: 'int64', shape: [-1, 4, 4], role: 'text-tokens' },
    ];
    const outputs: TensorSpec[] = [{ name: 'p', dtype: 'float32', shape: [-1, 2], role: 'probabilities' }];
    const found = compareSignature(inputs, outputs, {
      inputs: graphIn,
      outputs: [{ name: 'p', isTensor: true, type: 'float32', shape: [1, 2] }],
    });
    expect(found).toEqual([
      { subject: "manifest input 'a'", detail: 'dtype int32 in manifest, float32 in graph' },
      { subject: "manifest input 'a'", detail: 'axis 1 is 5 in manifest, 4 in graph' },
      { subject: "manifest input 'b'", detail: 'rank 3 [-1, 4, 4] in manifest, rank 2 [batch, 16] in graph' },
      { subject: "manifest output 'p'", detail: 'axis 0 is dynamic (-1) in manifest but static 1 in graph' },
    ]);
  });
});
