import { fail, ok, type PreprocessResult } from '../result.js';

/**
 * Decodes one RLE Lossless frame (DICOM PS3.5 Annex G). The 64-byte header lists up to 15
 * segments; segment k holds byte plane k (for each sample, most significant byte first) packed
 * with the PackBits scheme of G.3.1. Output is little-endian, samples interleaved per pixel
 * (PS3.5 G.2: RLE frames are always decoded to Planar Configuration 0 here). Every write is
 * bounds-checked, so a hostile frame can neither overrun nor grow the output.
 */
export function decodeRleFrame(encoded: Uint8Array, rows: number, columns: number, bytesPerSample: number, samplesPerPixel: number): PreprocessResult<Uint8Array> {
  if (encoded.byteLength < 64) return fail('failed-to-decode', 'RLE frame shorter than its 64-byte header');
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const segments = view.getUint32(0, true);
  const expected = bytesPerSample * samplesPerPixel;
  if (segments !== expected) return fail('failed-to-decode', `RLE header has ${segments} segments, expected ${expected}`);
  const pixels = rows * columns;
  const out = new Uint8Array(pixels * expected);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : encoded.byteLength;
    if (start < 64 || end > encoded.byteLength || end < start) return fail('failed-to-decode', `RLE segment ${s} offsets out of range`);
    const sample = Math.floor(s / bytesPerSample);
    // Byte plane order is MSB first; little-endian output puts the MSB at the highest address.
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample);
    const offset = sample * bytesPerSample + byteInSample;
    let written = 0;
    let p = start;
    while (p < end && written < pixels) {
      const n = (encoded[p++]! << 24) >> 24;
      if (n >= 0) {
        const count = Math.min(n + 1, pixels - written, end - p);
        for (let k = 0; k < count; k++) out[(written + k) * expected + offset] = encoded[p + k]!;
        written += count;
        p += n + 1;
      } else if (n !== -128) {
        if (p >= end) break;
        const value = encoded[p++]!;
        const count = Math.min(1 - n, pixels - written);
        for (let k = 0; k < count; k++) out[(written + k) * expected + offset] = value;
        written += count;
      }
    }
    if (written < pixels) return fail('failed-to-decode', `RLE segment ${s} is short`);
  }
  return ok(out);
}
