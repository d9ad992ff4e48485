import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCompressedFrameDecoder, type CompressedFrameDecoder } from '../../../../src/preprocess/imaging/compressed-frame-decoder.js';
import { decodeDicomImage, type DecodedImage } from '../../../../src/preprocess/imaging/decode-dicom-image.js';
import { applyVoi, toModelImage } from '../../../../src/preprocess/imaging/to-model-image.js';
import { thirdPartyFixture } from '../../../helpers/fixtures.js';

let codecs: CompressedFrameDecoder;
beforeAll(async () => {
  codecs = await loadCompressedFrameDecoder();
});

const SIZE = 224;
const spec = { size: [SIZE, SIZE] as [number, number], mean: 0, std: 1 };

function modelImageOf(file: string): Float32Array {
  const r = decodeDicomImage(new Uint8Array(readFileSync(thirdPartyFixture('dicom', file))), { maxPixels: 4_000_000, codecs });
  if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`);
  const m = toModelImage(r.value, spec);
  expect(m.dims).toEqual([1, SIZE, SIZE]);
  expect(m.data).toHaveLength(SIZE * SIZE);
  return m.data;
}

/** Mean over a box given as fractions of the output image. */
function boxMean(data: Float32Array, x0: number, y0: number, x1: number, y1: number): number {
  let sum = 0;
  let n = 0;
  for (let y = Math.round(y0 * SIZE); y < Math.round(y1 * SIZE); y++) {
    for (let x = Math.round(x0 * SIZE); x < Math.round(x1 * SIZE); x++) {
      sum += data[y * SIZE + x]!;
      n++;
    }
  }
  return sum / n;
}

function summary(data: Float32Array) {
  let s = 0;
  let s2 = 0;
  for (const v of data) {
    s += v;
    s2 += v * v;
  }
  const mean = s / data.length;
  return { mean, std: Math.sqrt(s2 / data.length - mean * mean) };
}

describe('toModelImage golden tests on real chest radiographs (MONOCHROME1)', () => {
  it.each([
    ['RG1_J2KI.dcm', 0.7099, 0.2296],
    ['CR-MONO1-10-chest.dcm', 0.5466, 0.1567],
  ])('%s: lungs dark, spine/mediastinum bright, air above the shoulders dark', (file, goldenMean, goldenStd) => {
    const data = modelImageOf(file);
    const leftLung = boxMean(data, 0.2, 0.35, 0.35, 0.6);
    const rightLung = boxMean(data, 0.65, 0.35, 0.8, 0.6);
    const spine = boxMean(data, 0.46, 0.2, 0.54, 0.8);
    const airTopRight = boxMean(data, 0.9, 0.01, 0.97, 0.06);
    expect(leftLung).toBeLessThan(spine - 0.15);
    expect(rightLung).toBeLessThan(spine - 0.15);
    expect(airTopRight).toBeLessThan(Math.min(leftLung, rightLung));
    const { mean, std } = summary(data);
    expect(mean).toBeCloseTo(goldenMean, 3);
    expect(std).toBeCloseTo(goldenStd, 3);
  });
});

function image(pixels: number[], width: number, height: number, extra: Partial<DecodedImage> = {}): DecodedImage {
  return { width, height, pixels: Float32Array.from(pixels), photometric: 'MONOCHROME2', rescaleSlope: 1, rescaleIntercept: 0, bitsStored: 12, transferSyntax: '1.2.840.10008.1.2.1', ...extra };
}

describe('toModelImage', () => {
  it('windows per PS3.3 C.11.2.1.2.1 and inverts MONOCHROME1', () => {
    const img = image([0, 99.5, 199.6, 300], 4, 1, { windowCenter: 150, windowWidth: 101 });
    expect(Array.from(applyVoi(img))).toEqual([0, 0, 1, 1]);
    const ramp = image([100, 125, 150, 175, 200], 5, 1, { windowCenter: 150.5, windowWidth: 101 });
    expect(Array.from(applyVoi(ramp), (v) => +v.toFixed(2))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const m1 = toModelImage(image([0, 1000], 2, 1, { photometric: 'MONOCHROME1' }), { size: [1, 2], mean: 0, std: 1 });
    expect(Array.from(m1.data)).toEqual([1, 0]);
  });

  it('uses a VOI LUT when present, else min/max ignoring padding', () => {
    const lut = image([10, 11, 12, 50], 4, 1, { voiLut: { firstMapped: 10, bits: 8, data: Float32Array.from([0, 255, 51]) } });
    expect(Array.from(applyVoi(lut), (v) => +v.toFixed(2))).toEqual([0, 1, 0.2, 0.2]);
    const padded = image([-2000, 0, 50, 100], 4, 1, { paddingValue: -2000 });
    expect(Array.from(applyVoi(padded))).toEqual([0, 0, 0.5, 1]);
  });

  it('keeps the aspect ratio, pads centred with black and normalises', () => {
    // A 4×2 white image into 4×4: rows 1-2 white, rows 0 and 3 padding.
    const m = toModelImage(image(new Array(8).fill(7), 4, 2, { windowCenter: 0.5, windowWidth: 1 }), { size: [4, 4], mean: 0.5, std: 0.25 });
    expect(Array.from(m.data)).toEqual([-2, -2, -2, -2, 2, 2, 2, 2, 2, 2, 2, 2, -2, -2, -2, -2]);
  });

  it('area-averages when shrinking (no aliasing of a fine checkerboard)', () => {
    const n = 64;
    const checker = Array.from({ length: n * n }, (_, i) => ((i % n) + Math.floor(i / n)) % 2);
    const m = toModelImage(image(checker, n, n), { size: [8, 8], mean: 0, std: 1 });
    for (const v of m.data) expect(v).toBeCloseTo(0.5, 5);
  });
});
