import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadCompressedFrameDecoder, type CompressedFrameDecoder } from '../../../../src/preprocess/imaging/compressed-frame-decoder.js';
import { decodeDicomImage } from '../../../../src/preprocess/imaging/decode-dicom-image.js';
import type { LibraryMessage } from '../../../../src/preprocess/imaging/dicom-dataset.js';
import { jpegColourModel, readJpegColourMarkers } from '../../../../src/preprocess/imaging/jpeg-colour-model.js';
import { TransferSyntaxUid as TS } from '../../../../src/preprocess/imaging/part10-normalise.js';
import { codecsModule, imageElements, syntheticPixels, writePart10 } from './synthetic-dicom.js';

let codecs: CompressedFrameDecoder;
beforeAll(async () => {
  codecs = await loadCompressedFrameDecoder();
});

/** Hostile-but-realistic DICOM files, built here; each must decode correctly or be refused by name, silently. */
function quietly<T>(fn: () => T): { value: T; printed: number } {
  const spies = [
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true),
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true),
    ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => {})),
  ];
  try {
    const value = fn();
    return { value, printed: spies.reduce((n, s) => n + s.mock.calls.length, 0) };
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
}

afterEach(() => vi.restoreAllMocks());

const W = 64;
const H = 64;

/** A JPEG baseline stream (as libjpeg writes it: JFIF APP0, YCbCr components) of `rgb`, 4:4:4. */
function encodeJpeg(rgb: Uint8Array): Uint8Array {
  const ctx = new codecsModule.Context({ width: W, height: H, bitsAllocated: 8, bitsStored: 8, samplesPerPixel: 3, pixelRepresentation: 0, planarConfiguration: 0, photometricInterpretation: 'RGB', decodedBuffer: rgb });
  const out = codecsModule.NativeCodecs.encodeJpeg(ctx, { lossy: true, quality: 98, sampleFactor: 0 });
  return out.getEncodedBuffer()!.slice();
}

/** Removes every APP0 (JFIF) segment; inserts an Adobe APP14 segment with `transform` when given. */
function rewriteMarkers(stream: Uint8Array, adobeTransform?: number): Uint8Array {
  const parts: number[] = [0xff, 0xd8];
  if (adobeTransform !== undefined) parts.push(0xff, 0xee, 0x00, 0x0e, ...Array.from('Adobe', (c) => c.charCodeAt(0)), 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, adobeTransform);
  let p = 2;
  while (stream[p] === 0xff && stream[p + 1] !== 0xda) {
    const length = (stream[p + 2]! << 8) | stream[p + 3]!;
    if (stream[p + 1] !== 0xe0) parts.push(...stream.subarray(p, p + 2 + length));
    p += 2 + length;
  }
  return new Uint8Array([...parts, ...stream.subarray(p)]);
}

function jpegFile(stream: Uint8Array, photometric: string): Uint8Array {
  const base = imageElements(W, H, new Int32Array(W * H), { bitsAllocated: 8, bitsStored: 8 });
  const el = { ...base, SamplesPerPixel: 3, PlanarConfiguration: 0, PhotometricInterpretation: photometric, PixelData: [stream.slice().buffer] };
  return writePart10(el, TS.jpegBaseline);
}

/**
 * Components chosen so that, read as YCbCr, they stay inside the RGB gamut: the encoder turns
 * `ycc2rgb(q)` back into ≈ q, so the stream's coded components are ≈ q whatever the markers say.
 */
const q = Array.from({ length: W * H }, (_, i) => {
  const x = i % W;
  const y = Math.floor(i / W);
  return [70 + x * 2, 110 + (y % 32), 150 - (x % 32)] as const;
});
const ycc2rgb = ([yy, cb, cr]: readonly [number, number, number]) => [yy + 1.402 * (cr - 128), yy - 0.344136 * (cb - 128) - 0.714136 * (cr - 128), yy + 1.772 * (cb - 128)].map((v) => Math.max(0, Math.min(255, Math.round(v))));
let jfifStream: Uint8Array;
beforeAll(() => {
  jfifStream = encodeJpeg(new Uint8Array(q.flatMap(ycc2rgb)));
});
const lumaOfComponents = q.map(([a, b, c]) => 0.299 * a + 0.587 * b + 0.114 * c);
const lumaIfYcbcr = q.map(([a]) => a);

function meanAbs(a: ArrayLike<number>, b: number[]): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / b.length;
}

function decodeQuietly(bytes: Uint8Array) {
  const messages: LibraryMessage[] = [];
  const { value, printed } = quietly(() => decodeDicomImage(bytes, { maxPixels: 1e6, codecs, onLibraryMessage: (m) => messages.push(m) }));
  return { result: value, printed, messages };
}

describe('JPEG colour transform: APP14, JFIF and the DICOM Photometric Interpretation', () => {
  it('reads the markers the rule depends on', () => {
    expect(readJpegColourMarkers(jfifStream)).toMatchObject({ jfif: true, componentIds: [1, 2, 3] });
    expect(readJpegColourMarkers(rewriteMarkers(jfifStream))).toEqual({ jfif: false, componentIds: [1, 2, 3] });
    expect(readJpegColourMarkers(rewriteMarkers(jfifStream, 0))).toMatchObject({ jfif: false, adobeTransform: 0 });
    expect(jpegColourModel(undefined, 'YBR_FULL_422')).toBe('YBR_FULL');
  });

  it('an RGB JPEG without APP14 (DICOM says RGB) is not YCbCr-converted', () => {
    const { result, printed } = decodeQuietly(jpegFile(rewriteMarkers(jfifStream), 'RGB'));
    if (!result.ok) throw new Error(result.detail);
    expect(meanAbs(result.value.pixels, lumaOfComponents)).toBeLessThan(2);
    // The old decoder applied YCbCr→RGB here, which lands on the first component instead.
    expect(meanAbs(result.value.pixels, lumaIfYcbcr)).toBeGreaterThan(10);
    expect(printed).toBe(0);
  });

  it('APP14 transform=1 and JFIF mean YCbCr whatever the DICOM header says; APP14 transform=0 means RGB', () => {
    for (const [stream, photometric, expected] of [
      [rewriteMarkers(jfifStream, 1), 'RGB', lumaIfYcbcr],
      [jfifStream, 'YBR_FULL_422', lumaIfYcbcr],
      [jfifStream, 'RGB', lumaIfYcbcr],
      [rewriteMarkers(jfifStream, 0), 'YBR_FULL_422', lumaOfComponents],
    ] as const) {
      const { result } = decodeQuietly(jpegFile(stream, photometric));
      if (!result.ok) throw new Error(result.detail);
      expect(meanAbs(result.value.pixels, [...expected])).toBeLessThan(2);
    }
  });
});

describe('pixel data length and trailing bytes', () => {
  const pixels = syntheticPixels(W, H, 8);
  const elements = imageElements(W, H, pixels, { bitsAllocated: 16, bitsStored: 12 });
  const good = writePart10(elements, TS.explicitLittle);

  it('the untouched file decodes exactly, silently', () => {
    const { result, printed, messages } = decodeQuietly(good);
    expect(result.ok && Array.from(result.value.pixels)).toEqual(Array.from(pixels));
    expect([printed, messages.length]).toEqual([0, 0]);
  });

  it('refuses a PixelData element shorter than Rows×Columns×Samples×Bits/8 (8,130 of 8,192 bytes)', () => {
    const short = { ...elements, PixelData: [(elements.PixelData as ArrayBuffer[])[0]!.slice(0, 8130)] };
    const { result, printed } = decodeQuietly(writePart10(short, TS.explicitLittle));
    expect(result).toEqual({ ok: false, reason: 'invalid-value', detail: expect.stringMatching(/^PixelData \(7FE0,0010\) is truncated: 8130 bytes, .* needs 8192$/) });
    expect(printed).toBe(0);
  });

  it('refuses a file cut inside PixelData (the element declares more than the file holds)', () => {
    for (const ts of [TS.explicitLittle, TS.implicitLittle]) {
      const file = writePart10(elements, ts);
      const { result, printed } = decodeQuietly(file.subarray(0, file.byteLength - 62));
      expect(result).toMatchObject({ ok: false, reason: 'invalid-value', detail: expect.stringContaining('PixelData (7FE0,0010) is truncated: the element declares 8192 bytes, the file ends after 8130') });
      expect(printed).toBe(0);
    }
  });

  it('refuses over-long PixelData but accepts the one padding byte of an odd length', () => {
    const long = { ...elements, PixelData: [new Uint8Array(8192 + 100).buffer] };
    expect(decodeQuietly(writePart10(long, TS.explicitLittle)).result).toMatchObject({ ok: false, reason: 'invalid-value', detail: expect.stringContaining('over-long: 8292 bytes') });
    const odd = syntheticPixels(5, 3, 8);
    const padded = imageElements(5, 3, odd, { bitsAllocated: 8, bitsStored: 8 });
    const r = decodeQuietly(writePart10(padded, TS.explicitLittle)).result;
    expect(r.ok && Array.from(r.value.pixels)).toEqual(Array.from(odd));
  });

  it('refuses trailing garbage after PixelData before dcmjs parses it: no stderr, no library messages', () => {
    const garbage = new Uint8Array(64 * 1024).map((_, i) => (i * 131 + 7) & 0xff);
    for (const ts of [TS.explicitLittle, TS.implicitLittle]) {
      const file = writePart10(elements, ts);
      const { result, printed, messages } = decodeQuietly(new Uint8Array([...file, ...garbage]));
      expect(result).toEqual({ ok: false, reason: 'failed-to-decode', detail: `${garbage.byteLength} trailing bytes after PixelData (7FE0,0010) are not DICOM data elements` });
      expect([printed, messages.length]).toEqual([0, 0]);
    }
  });

  it('accepts well-formed elements after PixelData (Data Set Trailing Padding, PS3.10 §7.2)', () => {
    const trailer = new Uint8Array([0xfc, 0xff, 0xfc, 0xff, 0x4f, 0x42, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]);
    const { result } = decodeQuietly(new Uint8Array([...good, ...trailer]));
    expect(result.ok).toBe(true);
  });

  it('what dcmjs would print goes to the sink, never to the console', () => {
    // A malformed character set makes dcmjs warn (ignoreErrors); the element walk cannot see it.
    const odd = { ...elements, SpecificCharacterSet: 'ISO_IR 999' };
    const { result, printed, messages } = decodeQuietly(writePart10(odd, TS.explicitLittle));
    expect(result.ok).toBe(true);
    expect(printed).toBe(0);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.every((m) => m.library === 'dcmjs' && m.level === 'warn')).toBe(true);
  });
});
