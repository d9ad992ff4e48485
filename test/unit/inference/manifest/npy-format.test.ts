import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NpyFormatError, parseNpy, readNpyTensor, serializeNpy } from '../../../../src/inference/manifest/npy-format.js';
import { testModelsDir } from '../../../fixtures/models/model-fixtures.js';

/** The bytes numpy 1.24 writes for `np.save(f, np.arange(6, dtype=np.float32).reshape(2, 3))`. */
function numpyFloat32Example(): Uint8Array {
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const header = dict.padEnd(117, ' ') + '\n'; // 10 + 118 = 128, a multiple of 64
  const out = new Uint8Array(128 + 24);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0], 0);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(Float32Array.of(0, 1, 2, 3, 4, 5).buffer), 128);
  return out;
}

describe('npy format', () => {
  it('writes exactly what numpy writes', () => {
    const bytes = serializeNpy({ dtype: 'float32', shape: [2, 3], data: Float32Array.of(0, 1, 2, 3, 4, 5) });
    expect(bytes).toEqual(numpyFloat32Example());
  });

  it('reads numpy output with its shape and dtype', () => {
    const array = parseNpy(numpyFloat32Example());
    expect(array.dtype).toBe('float32');
    expect(array.shape).toEqual([2, 3]);
    expect([...(array.data as Float32Array)]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('round-trips int64, 1-D and scalar-per-row shapes', () => {
    const ints = parseNpy(serializeNpy({ dtype: 'int64', shape: [2, 2], data: BigInt64Array.of(1n, -2n, 3n, 4n) }));
    expect([...(ints.data as BigInt64Array)]).toEqual([1n, -2n, 3n, 4n]);
    const vector = serializeNpy({ dtype: 'float32', shape: [2], data: Float32Array.of(1.5, 2.5) });
    expect(new TextDecoder().decode(vector.subarray(10, 70))).toContain("'shape': (2,)");
    expect(parseNpy(vector).shape).toEqual([2]);
  });

  it('reads version 2.0 headers (uint32 length)', () => {
    const v1 = numpyFloat32Example();
    const v2 = new Uint8Array(v1.length + 2);
    v2.set(v1.subarray(0, 6), 0);
    v2.set([2, 0], 6);
    new DataView(v2.buffer).setUint32(8, 118, true);
    v2.set(v1.subarray(10), 12);
    expect(parseNpy(v2).shape).toEqual([2, 3]);
  });

  it('rejects other files, Fortran order, big-endian and short data', () => {
    expect(() => parseNpy(new TextEncoder().encode('not numpy at all'))).toThrow(NpyFormatError);
    const text = (header: string) => {
      const bytes = numpyFloat32Example();
      bytes.set(new TextEncoder().encode(header.padEnd(117, ' ')), 10);
      return bytes;
    };
    expect(() => parseNpy(text("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"))).toThrow(/Fortran/);
    expect(() => parseNpy(text("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }"))).toThrow(/dtype/);
    expect(() => parseNpy(numpyFloat32Example().subarray(0, 140))).toThrow(/shorter/);
    expect(() => serializeNpy({ dtype: 'float32', shape: [3], data: Float32Array.of(1) })).toThrow(NpyFormatError);
  });
});

/** Builds a version-1 .npy file the way numpy.save lays it out (header padded to 64 bytes). */
function npy(descr: string, shape: number[], body: Uint8Array, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}

describe('readNpyTensor', () => {
  it('reads the golden tensors numpy wrote for the test model', () => {
    const tensor = readNpyTensor(readFileSync(join(testModelsDir, 'tiny-fusion', '1.0.0', 'golden-input-image.npy')));
    expect(tensor.dtype).toBe('float32');
    expect(tensor.dims).toEqual([3, 1, 8, 8]);
    expect(tensor.data).toHaveLength(192);
  });

  it('reads int64 and one-dimensional shapes, and bool from |b1 and |u1', () => {
    expect(readNpyTensor(npy('<i8', [3], new Uint8Array(new BigInt64Array([1n, -2n, 3n]).buffer)))).toEqual({
      dtype: 'int64',
      dims: [3],
      data: new BigInt64Array([1n, -2n, 3n]),
    });
    for (const descr of ['|b1', '|u1'])
      expect(readNpyTensor(npy(descr, [2], Uint8Array.of(1, 0)))).toEqual({ dtype: 'bool', dims: [2], data: Uint8Array.of(1, 0) });
  });

  it('refuses bad magic, unsupported dtypes, float64, Fortran order and truncated data with a reason', () => {
    expect(() => readNpyTensor(new Uint8Array(20))).toThrow(/not an \.npy file/);
    expect(() => readNpyTensor(npy('>f8', [1], new Uint8Array(8)))).toThrow(/unsupported dtype ">f8"/);
    expect(() => readNpyTensor(npy('<f8', [1], new Uint8Array(8)))).toThrow(/unsupported tensor dtype "<f8"/);
    expect(() => readNpyTensor(npy('<f4', [1], new Uint8Array(4), true))).toThrow(/Fortran-order arrays are not supported/);
    expect(() => readNpyTensor(npy('<f4', [2, 2], new Uint8Array(8)))).toThrow(NpyFormatError);
  });
});
