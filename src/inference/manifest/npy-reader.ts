import type { TensorDtype } from '../../contracts/manifest-types.js';
import type { TensorData } from './tensor-data.js';

/** Outcome of {@link parseNpy}. */
export type NpyParseResult = { ok: true; value: TensorData } | { ok: false; reason: string };

const DESCR: Record<string, TensorDtype> = {
  '<f4': 'float32',
  '<i8': 'int64',
  '<i4': 'int32',
  '|b1': 'bool',
  '|u1': 'bool',
};

/**
 * Parses a NumPy `.npy` file (format versions 1–3, C order, little-endian float32 / int64 / int32 /
 * bool), as written by `numpy.save` for the golden tensors in model folders. The format: magic
 * `\x93NUMPY`, version, header length, a Python-dict header with `descr`, `fortran_order`, `shape`,
 * then raw data (numpy.lib.format).
 */
export function parseNpy(bytes: Uint8Array): NpyParseResult {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b))
    return { ok: false, reason: 'not a .npy file (bad magic)' };
  const major = bytes[6] ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    return { ok: false, reason: `unreadable header: ${header.trim()}` };
  if (fortran === 'True') return { ok: false, reason: 'Fortran-order arrays are not supported' };
  const dtype = DESCR[descr];
  if (!dtype) return { ok: false, reason: `unsupported dtype ${descr}` };
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = dims.reduce((n, d) => n * d, 1);
  const start = headerStart + headerLength;
  const width = dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'int64' ? 8 : 1;
  if (bytes.length - start < count * width)
    return { ok: false, reason: `truncated: ${count} elements need ${count * width} bytes` };
  // Copy into a fresh, aligned buffer: the data offset is not guaranteed to be a multiple of 8, and
  // a Node Buffer's `.slice` is a view on a shared pool (new Uint8Array(view) always copies).
  const raw = new Uint8Array(bytes.subarray(start, start + count * width)).buffer;
  const data =
    dtype === 'float32'
      ? new Float32Array(raw)
      : dtype === 'int64'
        ? new BigInt64Array(raw)
        : dtype === 'int32'
          ? new Int32Array(raw)
          : new Uint8Array(raw);
  return { ok: true, value: { dtype, dims, data } };
}
