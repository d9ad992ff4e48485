import type { TensorDtype } from '../../contracts/manifest-types.js';

/** The typed array that carries each ONNX element type (ONNX Runtime's own mapping). */
export interface TypedArrayByDtype {
  float32: Float32Array;
  int64: BigInt64Array;
  int32: Int32Array;
  bool: Uint8Array;
}

/** Any typed array the engine feeds or reads. */
export type TensorArray = TypedArrayByDtype[TensorDtype];

/** A tensor as the engine's callers and the worker protocol carry it: dtype, dims, flat data. */
export interface TensorData {
  dtype: TensorDtype;
  /** Full shape, batch axis first. */
  dims: number[];
  data: TensorArray;
}

/** Allocates a zero-filled typed array of `length` elements for `dtype`. */
export function allocateTensorArray(dtype: TensorDtype, length: number): TensorArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'int64':
      return new BigInt64Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'bool':
      return new Uint8Array(length);
  }
}

/** Whether `data` is the typed array ONNX Runtime expects for `dtype`. */
export function isArrayOfDtype(dtype: TensorDtype, data: unknown): data is TensorArray {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array;
    case 'int64':
      return data instanceof BigInt64Array;
    case 'int32':
      return data instanceof Int32Array;
    case 'bool':
      return data instanceof Uint8Array;
  }
}

/** Number of elements in a tensor of shape `dims`. */
export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/**
 * Zeroes elements `[start, end)` whatever the element type (BigInt64Array needs `0n`), so masking
 * code does not care about dtype.
 */
export function zeroRange(data: TensorArray, start: number, end: number): void {
  if (data instanceof BigInt64Array) data.fill(0n, start, end);
  else data.fill(0, start, end);
}

/** Reads element `i` as a JavaScript number. */
export function readNumber(data: TensorArray, i: number): number {
  return Number(data[i] ?? 0);
}

/** Writes a number into element `i` of any typed array. */
export function writeNumber(data: TensorArray, i: number, value: number): void {
  if (data instanceof BigInt64Array) data[i] = BigInt(Math.trunc(value));
  else data[i] = value;
}
