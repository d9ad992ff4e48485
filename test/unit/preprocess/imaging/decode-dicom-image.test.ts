import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCompressedFrameDecoder, type CompressedFrameDecoder } from '../../../../src/preprocess/imaging/compressed-frame-decoder.js';
import { decodeDicomImage } from '../../../../src/preprocess/imaging/decode-dicom-image.js';
import { buildPart10, TransferSyntaxUid as TS } from '../../../../src/preprocess/imaging/part10-normalise.js';
import { thirdPartyFixture } from '../../../helpers/fixtures.js';
import { encodeRle, imageElements, syntheticPixels, writeBareDataset, writePart10 } from './synthetic-dicom.js';

let codecs: CompressedFrameDecoder;
beforeAll(async () => {
  codecs = await loadCompressedFrameDecoder();
});

const W = 37;
const H = 29;
const pixels12 = syntheticPixels(W, H, 12);
const elements12 = imageElements(W, H, pixels12, { bitsAllocated: 16, bitsStored: 12 });

function decodeOk(bytes: Uint8Array, maxPixels = 1e6) {
  const r = decodeDicomImage(bytes, { maxPixels, codecs });
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  return r.value;
}

describe('decodeDicomImage on generated files, each transfer syntax', () => {
  it.each([
    ['explicit VR little endian', TS.explicitLittle],
    ['implicit VR little endian', TS.implicitLittle],
    ['JPEG-LS lossless', TS.jpegLsLossless],
    ['JPEG 2000 lossless', TS.jpeg2000Lossless],
    ['JPEG lossless SV1', TS.jpegLosslessSv1],
    ['RLE lossless (dcmjs-codecs encoder)', TS.rle],
  ])('%s decodes back exactly', (_name, ts) => {
    const image = decodeOk(writePart10(elements12, ts, TS.explicitLittle));
    expect([image.width, image.height, image.photometric]).toEqual([W, H, 'MONOCHROME2']);
    expect(Array.from(image.pixels)).toEqual(Array.from(pixels12));
    expect(image.transferSyntax).toBe(ts);
  });

  it('RLE lossless written per PS3.5 Annex G by the test decodes back exactly, 16 and 8 bit', () => {
    const rle16 = { ...elements12, PixelData: [encodeRle(pixels12, 2)] };
    expect(Array.from(decodeOk(writePart10(rle16, TS.rle)).pixels)).toEqual(Array.from(pixels12));
    const pixels8 = syntheticPixels(W, H, 8);
    const rle8 = { ...imageElements(W, H, pixels8, { bitsAllocated: 8, bitsStored: 8 }), PixelData: [encodeRle(pixels8, 1)] };
    expect(Array.from(decodeOk(writePart10(rle8, TS.rle)).pixels)).toEqual(Array.from(pixels8));
  });

  it('JPEG baseline (lossy, 8 bit) decodes close to the original', () => {
    const smooth = new Int32Array(64 * 48).map((_, i) => Math.round(((i % 64) / 63) * 200 + 20));
    const image = decodeOk(writePart10(imageElements(64, 48, smooth, { bitsAllocated: 8, bitsStored: 8 }), TS.jpegBaseline, TS.explicitLittle));
    const meanAbsError = image.pixels.reduce((s, v, i) => s + Math.abs(v - smooth[i]!), 0) / smooth.length;
    expect(meanAbsError).toBeLessThan(3);
  });

  it('reduces RGB (interleaved, planar, RLE) to BT.601 luma', () => {
    const w = 8;
    const h = 4;
    const rgb = Array.from({ length: w * h }, (_, i) => [(i * 7) % 256, (i * 13) % 256, (i * 29) % 256] as const);
    const luma = rgb.map(([r, g, b]) => 0.299 * r + 0.587 * g + 0.114 * b);
    const interleaved = new Uint8Array(rgb.flat());
    const planar = new Uint8Array([...rgb.map((p) => p[0]), ...rgb.map((p) => p[1]), ...rgb.map((p) => p[2])]);
    const base = { ...imageElements(w, h, new Int32Array(w * h), { bitsAllocated: 8, bitsStored: 8 }), SamplesPerPixel: 3, PhotometricInterpretation: 'RGB' };
    for (const [planarConfiguration, data, ts] of [[0, interleaved, TS.explicitLittle], [1, planar, TS.explicitLittle], [0, interleaved, TS.rle]] as const) {
      const el = { ...base, PlanarConfiguration: planarConfiguration, PixelData: [data.slice().buffer] };
      const image = decodeOk(writePart10(el, ts, TS.explicitLittle));
      expect(image.photometric).toBe('RGB');
      Array.from(image.pixels).forEach((v, i) => expect(v).toBeCloseTo(luma[i]!, 3));
    }
  });

  it('deflated explicit VR little endian inflates and decodes exactly', () => {
    const dataset = writeBareDataset(elements12, TS.explicitLittle);
    const file = new Uint8Array(buildPart10(TS.deflatedExplicitLittle, deflateRawSync(dataset)));
    const image = decodeOk(file);
    expect(Array.from(image.pixels)).toEqual(Array.from(pixels12));
    expect(image.transferSyntax).toBe(TS.deflatedExplicitLittle);
  });

  it('refuses a deflate bomb without inflating it all', () => {
    const bomb = new Uint8Array(buildPart10(TS.deflatedExplicitLittle, deflateRawSync(new Uint8Array(16 * 1024 * 1024))));
    expect(bomb.byteLength).toBeLessThan(50_000);
    const r = decodeDicomImage(bomb, { maxPixels: 1000, maxInflatedBytes: 1024 * 1024 });
    expect(r).toMatchObject({ ok: false, reason: 'failed-to-decode' });
  });

  it('reads a data set with no Part-10 header (implicit and explicit VR)', () => {
    expect(Array.from(decodeOk(writeBareDataset(elements12, TS.implicitLittle)).pixels)).toEqual(Array.from(pixels12));
    expect(Array.from(decodeOk(writeBareDataset(elements12, TS.explicitLittle)).pixels)).toEqual(Array.from(pixels12));
  });

  it('applies sign, BitsStored and the rescale to modality values', () => {
    const signed = syntheticPixels(W, H, 12, true);
    const el = imageElements(W, H, signed, { bitsAllocated: 16, bitsStored: 12, signed: true, extra: { RescaleSlope: '2', RescaleIntercept: '-1024' } });
    const image = decodeOk(writePart10(el, TS.explicitLittle));
    expect(Array.from(image.pixels)).toEqual(Array.from(signed, (v) => v * 2 - 1024));
    expect(Math.min(...image.pixels)).toBeLessThan(-1024);
  });

  it('refuses frames over maxPixels before decoding', () => {
    const r = decodeDicomImage(writePart10(elements12, TS.jpeg2000Lossless, TS.explicitLittle), { maxPixels: W * H - 1, codecs });
    expect(r).toEqual({ ok: false, reason: 'unsupported-format', detail: `frame ${W}×${H} exceeds the ${W * H - 1}-pixel limit` });
  });

  it('names a compressed syntax unsupported when no codec is loaded, and never throws on junk', () => {
    const j2k = writePart10(elements12, TS.jpeg2000Lossless, TS.explicitLittle);
    expect(decodeDicomImage(j2k, { maxPixels: 1e6 })).toMatchObject({ ok: false, reason: 'unsupported-format' });
    expect(decodeDicomImage(new Uint8Array([1, 2, 3]), { maxPixels: 1e6, codecs }).ok).toBe(false);
    const truncated = j2k.subarray(0, j2k.byteLength - 40);
    expect(decodeDicomImage(truncated, { maxPixels: 1e6, codecs }).ok).toBe(false);
    const corrupt = new Uint8Array(j2k);
    corrupt.fill(0x55, corrupt.byteLength - 200, corrupt.byteLength - 20);
    expect(() => decodeDicomImage(corrupt, { maxPixels: 1e6, codecs })).not.toThrow();
  });
});

describe('decodeDicomImage on real files', () => {
  it('decodes the headerless implicit-VR CR chest', () => {
    const bytes = new Uint8Array(readFileSync(thirdPartyFixture('dicom', 'CR-MONO1-10-chest.dcm')));
    const image = decodeOk(bytes);
    expect(image).toMatchObject({ width: 440, height: 440, photometric: 'MONOCHROME1', bitsStored: 10, windowCenter: 550, windowWidth: 1024, modality: 'CR' });
  });
});
