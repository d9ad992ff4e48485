import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../../../../src/inference/manifest/npy-reader.js';
import { testModelsDir } from '../../../fixtures/models/model-fixtures.js';

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

describe('parseNpy', () => {
  it('reads the golden tensors numpy wrote for the test model', () => {
    const parsed = parseNpy(
      readFileSync(join(testModelsDir, 'tiny-fusion', '1.0.0', 'golden-input-image.npy')),
    );
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.value.dtype).toBe('float32');
      expect(parsed.value.dims).toEqual([3, 1, 8, 8]);
      expect(parsed.value.data).toHaveLength(192);
    }
  });

  it('reads int64 and one-dimensional shapes', () => {
    const parsed = parseNpy(npy('<i8', [3], new Uint8Array(new BigInt64Array([1n, -2n, 3n]).buffer)));
    expect(parsed).toEqual({
      ok: true,
      value: { dtype: 'int64', dims: [3], data: new BigInt64Array([1n, -2n, 3n]) },
    });
  });

  it('refuses bad magic, unsupported dtypes, Fortran order and truncated data with a reason', () => {
    expect(parseNpy(new Uint8Array(20))).toEqual({ ok: false, reason: 'not a .npy file (bad magic)' });
    expect(parseNpy(npy('>f8', [1], new Uint8Array(8)))).toEqual({
      ok: false,
      reason: 'unsupported dtype >f8',
    });
    expect(parseNpy(npy('<f4', [1], new Uint8Array(4), true))).toEqual({
      ok: false,
      reason: 'Fortran-order arrays are not supported',
    });
    expect(parseNpy(npy('<f4', [2, 2], new Uint8Array(8)))).toEqual({
      ok: false,
      reason: 'truncated: 4 elements need 16 bytes',
    });
  });
});
