/**
 * Reader and writer for NumPy `.npy` files (format versions 1.0–3.0), the exchange format between
 * the TypeScript feature export / evaluation and the PyTorch recipe in `models/training/`, and the
 * format of the golden tensors in model folders (`numpy.save`). The one npy module (#22): every
 * failure is an {@link NpyFormatError}.
 *
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html — magic
 * `\x93NUMPY`, major/minor version, header length (uint16 for 1.0, uint32 for 2.0+), an ASCII
 * Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with
 * spaces and a newline so the data starts on a 64-byte boundary, then C-order data.
 */
import type { TensorData } from './tensor-data.js';

/** Element types this project exchanges. */
export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

/** A dense C-order array. */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

/** Why an `.npy` buffer could not be read. */
export class NpyFormatError extends Error {
  override readonly name = 'NpyFormatError';
}

const DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
  bool: '|b1',
};
const BYTES: Record<NpyDtype, number> = { float32: 4, float64: 8, int64: 8, int32: 4, uint8: 1, bool: 1 };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

function dtypeOf(descr: string): NpyDtype {
  for (const [dtype, d] of Object.entries(DESCR) as [NpyDtype, string][]) {
    if (d === descr || (d.startsWith('|') && descr === `<${d.slice(1)}`)) return dtype;
  }
  throw new NpyFormatError(`unsupported dtype ${JSON.stringify(descr)} (little-endian f4, f8, i8, i4, u1, b1 only)`);
}

/** Parse an `.npy` buffer. Throws `NpyFormatError` for anything that is not a supported C-order array. */
export function parseNpy(buffer: Uint8Array): NpyArray {
  if (buffer.length < 10 || MAGIC.some((b, i) => buffer[i] !== b)) throw new NpyFormatError('not an .npy file');
  const major = buffer[6] ?? 0;
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(buffer.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyFormatError('malformed .npy header');
  }
  if (fortran === 'True') throw new NpyFormatError('Fortran-order arrays are not supported');
  const dtype = dtypeOf(descr);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number.parseInt(s, 10));
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  const byteLength = count * BYTES[dtype];
  if (buffer.length - start < byteLength) throw new NpyFormatError('.npy data shorter than its shape');
  // Copy so the typed array is aligned regardless of the source buffer's offset. (Node's
  // Buffer#slice returns a view into a shared pool, so call Uint8Array's copying slice.)
  const bytes = Uint8Array.prototype.slice.call(buffer, start, start + byteLength);
  const data =
    dtype === 'float32'
      ? new Float32Array(bytes.buffer, 0, count)
      : dtype === 'float64'
        ? new Float64Array(bytes.buffer, 0, count)
        : dtype === 'int64'
          ? new BigInt64Array(bytes.buffer, 0, count)
          : dtype === 'int32'
            ? new Int32Array(bytes.buffer, 0, count)
            : new Uint8Array(bytes.buffer, 0, count);
  return { dtype, shape, data };
}

/** Serialise an array as `.npy` version 1.0 (little-endian; this project runs on little-endian hosts). */
export function serializeNpy(array: NpyArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (array.data.length !== count) {
    throw new NpyFormatError(`data length ${array.data.length} does not match shape [${array.shape.join(', ')}]`);
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${DESCR[array.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so that magic (6) + version (2) + length (2) + header is a multiple of 64, ending in '\n'.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + array.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), total);
  return out;
}

/**
 * Reads an `.npy` file as a model tensor (a golden input or output): uint8 and bool arrays become
 * `bool` tensors (numpy saves `np.bool_` as `|b1`; some exporters write `|u1`); float64 has no
 * tensor dtype in the manifest (`TensorDtype`) and is refused. Throws {@link NpyFormatError}.
 */
export function readNpyTensor(bytes: Uint8Array): TensorData {
  const array = parseNpy(bytes);
  switch (array.dtype) {
    case 'float32':
    case 'int64':
    case 'int32':
      return { dtype: array.dtype, dims: array.shape, data: array.data as Float32Array | BigInt64Array | Int32Array };
    case 'uint8':
    case 'bool':
      return { dtype: 'bool', dims: array.shape, data: array.data as Uint8Array };
    case 'float64':
      throw new NpyFormatError(`unsupported tensor dtype ${JSON.stringify(DESCR.float64)} (model tensors are f4, i8, i4 or bool)`);
  }
}
