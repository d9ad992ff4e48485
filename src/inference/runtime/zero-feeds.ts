import type { GraphTensorSpec } from '../manifest/golden-check.js';
import { allocateTensorArray, elementCount, type TensorData } from '../manifest/tensor-data.js';

/**
 * A zero-filled feed for every manifest input at batch size `batch` (warm-up runs). Dynamic axes
 * other than the batch axis get size 1, the smallest shape every graph with that axis accepts.
 */
export function zeroFeeds(
  manifest: { inputs: readonly GraphTensorSpec[] },
  batch: number,
): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (const input of manifest.inputs) {
    const dims = input.shape.map((d, axis) => (axis === 0 ? batch : d === -1 ? 1 : d));
    feeds[input.name] = {
      dtype: input.dtype,
      dims,
      data: allocateTensorArray(input.dtype, elementCount(dims)),
    };
  }
  return feeds;
}
