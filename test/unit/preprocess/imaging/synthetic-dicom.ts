import { createRequire } from 'node:module';
import type * as DcmjsCodecs from 'dcmjs-codecs';

/** dcmjs-codecs, used by the tests to write DICOM files and to encode compressed frames. */
export const codecsModule = createRequire(import.meta.url)('dcmjs-codecs') as typeof DcmjsCodecs;

/** A small synthetic greyscale image with structure in both axes (so resizing/orientation bugs show). */
export function syntheticPixels(width: number, height: number, bitsStored: number, signed = false): Int32Array {
  const max = 2 ** bitsStored - 1;
  const out = new Int32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = Math.round(((x * 7 + y * 13 + ((x * y) % 17) * 31) % (max + 1)));
      out[y * width + x] = signed ? v - 2 ** (bitsStored - 1) : v;
    }
  }
  return out;
}

/** Naturalised (dcmjs) elements of a CR image holding `pixels`. */
export function imageElements(width: number, height: number, pixels: Int32Array, options: { bitsAllocated: 8 | 16; bitsStored: number; signed?: boolean; photometric?: string; extra?: Record<string, unknown> }): Record<string, unknown> {
  const bytesPer = options.bitsAllocated / 8;
  const buffer = new ArrayBuffer(width * height * bytesPer);
  const view = new DataView(buffer);
  pixels.forEach((v, i) => (bytesPer === 2 ? view.setUint16(i * 2, v & 0xffff, true) : view.setUint8(i, v & 0xff)));
  return {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.1',
    SOPInstanceUID: '2.25.1234567890',
    Modality: 'CR',
    Rows: height,
    Columns: width,
    BitsAllocated: options.bitsAllocated,
    BitsStored: options.bitsStored,
    HighBit: options.bitsStored - 1,
    PixelRepresentation: options.signed ? 1 : 0,
    SamplesPerPixel: 1,
    PhotometricInterpretation: options.photometric ?? 'MONOCHROME2',
    ...options.extra,
    PixelData: [buffer],
  };
}

/**
 * A copy of `elements` that names PixelData's VR (PS3.5 §8.2: OW for more than 8 bits, OB otherwise),
 * so the writer in the test does not guess it and print "Invalid vr type" to stderr — the tests
 * check that decoding prints nothing, and the fixtures should not print either.
 */
function withPixelVr(elements: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(elements);
  const vrMap = (copy._vrMap ?? {}) as Record<string, string>;
  copy._vrMap = { PixelData: Number(copy.BitsAllocated) > 8 ? 'OW' : 'OB', ...vrMap };
  return copy;
}

/** A Part-10 file of `elements` written in `transferSyntax` (encoding the pixels when it compresses). */
export function writePart10(elements: Record<string, unknown>, transferSyntax: string, encodeFrom?: string): Uint8Array {
  const transcoder = new codecsModule.Transcoder(withPixelVr(elements), encodeFrom ?? transferSyntax);
  if (encodeFrom && encodeFrom !== transferSyntax) transcoder.transcode(transferSyntax);
  return new Uint8Array(transcoder.getDicomPart10());
}

/** The bare data set (no preamble, no File Meta Information) of `elements` in `transferSyntax`. */
export function writeBareDataset(elements: Record<string, unknown>, transferSyntax: string): Uint8Array {
  return new Uint8Array(new codecsModule.Transcoder(withPixelVr(elements), transferSyntax).getDicomDataset());
}

/**
 * RLE Lossless encoder written from PS3.5 Annex G (independently of the decoder under test):
 * one segment per byte plane, most significant byte first, PackBits runs (G.3.1) with literal runs
 * of up to 128 bytes and replicate runs of 2 to 128 bytes.
 */
export function encodeRle(pixels: Int32Array, bytesPerSample: number): ArrayBuffer {
  const segments: number[][] = [];
  for (let plane = bytesPerSample - 1; plane >= 0; plane--) {
    const bytes = Array.from(pixels, (v) => (v >> (8 * plane)) & 0xff);
    const seg: number[] = [];
    let i = 0;
    while (i < bytes.length) {
      let run = 1;
      while (i + run < bytes.length && run < 128 && bytes[i + run] === bytes[i]) run++;
      if (run >= 2) {
        seg.push((257 - run) & 0xff, bytes[i]!);
        i += run;
        continue;
      }
      const start = i;
      while (i < bytes.length && i - start < 128 && !(i + 1 < bytes.length && bytes[i + 1] === bytes[i])) i++;
      if (i === start) i++;
      seg.push(i - start - 1, ...bytes.slice(start, i));
    }
    if (seg.length % 2) seg.push(0x80); // pad to even length with a no-op
    segments.push(seg);
  }
  const header = new DataView(new ArrayBuffer(64));
  header.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((s, k) => {
    header.setUint32(4 + 4 * k, offset, true);
    offset += s.length;
  });
  const out = new Uint8Array(offset);
  out.set(new Uint8Array(header.buffer), 0);
  let p = 64;
  for (const s of segments) {
    out.set(s, p);
    p += s.length;
  }
  return out.buffer;
}
