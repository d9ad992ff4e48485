import { InferenceInputError } from './inference-errors.js';
import type { ModelManifest } from '../../contracts/manifest-types.js';
import { elementCount, isArrayOfDtype, type TensorData } from '../manifest/tensor-data.js';

/** A request's tensors checked against the manifest: one row each, keyed by input name. */
export interface RequestTensors {
  /** Per input: dims of one row (the batch axis removed) and its data. */
  inputs: Record<string, { dims: number[]; data: TensorData['data'] }>;
  /** Batching key part: requests batch together only when every row shape is identical. */
  shapeKey: string;
}

/**
 * Checks one patient's tensors against the manifest inputs: every input present, no extras, the
 * dtype's typed array, batch axis 1, the manifest's rank and static dims, data length = shape
 * product. Throws {@link InferenceInputError} naming the tensor, since a mismatch here is a
 * preprocessing bug and must not reach ONNX Runtime (whose errors name neither model nor patient).
 */
export function checkRequestTensors(
  manifest: ModelManifest,
  tensors: Record<string, TensorData>,
): RequestTensors {
  const inputs: RequestTensors['inputs'] = {};
  for (const name of Object.keys(tensors)) {
    if (!manifest.inputs.some((i) => i.name === name)) {
      throw new InferenceInputError(
        name,
        `not an input of ${manifest.name}@${manifest.version} (inputs: ${manifest.inputs.map((i) => i.name).join(', ')})`,
      );
    }
  }
  for (const spec of manifest.inputs) {
    const t = tensors[spec.name];
    if (!t) throw new InferenceInputError(spec.name, 'missing');
    if (t.dtype !== spec.dtype)
      throw new InferenceInputError(spec.name, `dtype ${t.dtype}, manifest says ${spec.dtype}`);
    if (!isArrayOfDtype(spec.dtype, t.data))
      throw new InferenceInputError(spec.name, `data is not the typed array for ${spec.dtype}`);
    if (t.dims.length !== spec.shape.length) {
      throw new InferenceInputError(
        spec.name,
        `rank ${t.dims.length} [${t.dims.join(', ')}], manifest says [${spec.shape.join(', ')}]`,
      );
    }
    if (t.dims[0] !== 1)
      throw new InferenceInputError(
        spec.name,
        `batch axis must be 1 (one patient per request), got ${t.dims[0]}`,
      );
    spec.shape.forEach((d, axis) => {
      const actual = t.dims[axis] ?? 0;
      if (!Number.isInteger(actual) || actual < 1)
        throw new InferenceInputError(spec.name, `axis ${axis} is ${actual}`);
      if (axis > 0 && d !== -1 && actual !== d)
        throw new InferenceInputError(spec.name, `axis ${axis} is ${actual}, manifest says ${d}`);
    });
    if (t.data.length !== elementCount(t.dims)) {
      throw new InferenceInputError(
        spec.name,
        `${t.data.length} elements for shape [${t.dims.join(', ')}] (${elementCount(t.dims)} expected)`,
      );
    }
    inputs[spec.name] = { dims: t.dims.slice(1), data: t.data };
  }
  const shapeKey = manifest.inputs.map((i) => inputs[i.name]?.dims.join('x')).join('|');
  return { inputs, shapeKey };
}
