import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeRleFrame, encodeRleFrame, packBits } from '../../../../src/sandbox/cohort/rle-lossless.js';

describe('RLE Lossless (PS3.5 Annex G)', () => {
  it('round-trips any 16-bit frame', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constant(0), fc.constant(4095)), {
          minLength: 1,
          maxLength: 700,
        }),
        (values) => {
          const pixels = Uint16Array.from(values);
          const frame = encodeRleFrame(pixels, 16);
          expect(frame.length % 2).toBe(0);
          expect(Array.from(decodeRleFrame(frame, pixels.length, 16))).toEqual(values);
        },
      ),
    );
  });

  it('writes the 64-byte header: two segments, high bytes first, offsets in order', () => {
    const frame = encodeRleFrame(Uint16Array.from([0x1234, 0x1234, 0x1234, 0x1256]), 16);
    const view = new DataView(frame.buffer);
    expect(view.getUint32(0, true)).toBe(2);
    expect(view.getUint32(4, true)).toBe(64);
    const second = view.getUint32(8, true);
    expect(second).toBeGreaterThan(64);
    for (let i = 3; i < 16; i++) expect(view.getUint32(4 * i, true)).toBe(0);
    // High-byte segment: 0x12 four times → replicate run (−3 = 0xFD) then the byte.
    expect(Array.from(frame.subarray(64, 66))).toEqual([0xfd, 0x12]);
  });

  it('PackBits uses replicate runs for 3+ equal bytes and literals otherwise', () => {
    // Odd output is padded with the −128 (0x80) no-op byte (G.3.1).
    expect(Array.from(packBits(Uint8Array.from([1, 2, 3, 3, 3, 3])))).toEqual([1, 1, 2, 0xfd, 3, 0x80]);
    expect(Array.from(packBits(Uint8Array.from([7, 7, 7, 7])))).toEqual([0xfd, 7]);
    expect(packBits(new Uint8Array(300).fill(9)).length).toBeLessThan(10);
  });
});
