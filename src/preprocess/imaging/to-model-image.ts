import type { ModalityPreprocessing } from '../../inference/manifest-types.js';
import type { DecodedImage } from './decode-dicom-image.js';
import { resizeImage } from './resample.js';

/** The manifest's image preprocessing section. */
export type ImageSpec = NonNullable<ModalityPreprocessing['image']>;

/** Model-ready image: `data` is [1, H, W] row-major, normalised with the manifest's mean/std. */
export interface ModelImage {
  dims: [1, number, number];
  data: Float32Array;
}

/**
 * Display values in [0, 1] through the VOI stage (PS3.3 C.11.2): a VOI LUT when present, else
 * the first window (C.11.2.1.2.1 LINEAR, LINEAR_EXACT or SIGMOID), else the image's own min/max
 * (ignoring Pixel Padding Value).
 */
export function applyVoi(image: DecodedImage): Float32Array {
  const { pixels } = image;
  const out = new Float32Array(pixels.length);
  if (image.voiLut) {
    const { firstMapped, data, bits } = image.voiLut;
    const last = data.length - 1;
    const scale = 1 / (2 ** bits - 1);
    for (let i = 0; i < pixels.length; i++) {
      const idx = Math.min(last, Math.max(0, Math.round(pixels[i]!) - firstMapped));
      out[i] = Math.min(1, data[idx]! * scale);
    }
    return out;
  }
  if (image.windowCenter !== undefined && image.windowWidth !== undefined) {
    const c = image.windowCenter;
    const w = image.windowWidth;
    const fn = image.voiLutFunction ?? 'LINEAR';
    for (let i = 0; i < pixels.length; i++) {
      const x = pixels[i]!;
      let y: number;
      if (fn === 'SIGMOID') y = 1 / (1 + Math.exp((-4 * (x - c)) / w));
      else if (fn === 'LINEAR_EXACT') y = (x - c) / w + 0.5;
      else y = w <= 1 ? (x < c - 0.5 ? 0 : 1) : (x - (c - 0.5)) / (w - 1) + 0.5;
      out[i] = y < 0 ? 0 : y > 1 ? 1 : y;
    }
    return out;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const x = pixels[i]!;
    if (x === image.paddingValue) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const range = hi > lo ? hi - lo : 1;
  for (let i = 0; i < pixels.length; i++) {
    const y = pixels[i] === image.paddingValue ? 0 : (pixels[i]! - lo) / range;
    out[i] = y < 0 ? 0 : y > 1 ? 1 : y;
  }
  return out;
}

/**
 * Turns a decoded frame into the model's input: VOI windowing to [0, 1]; MONOCHROME1 inverted
 * (PS3.3 C.7.6.3.1.2: there the minimum value is white) so air is dark and bone bright for every
 * image; aspect-preserving resize to fit `spec.size` (area averaging when shrinking), centred
 * zero (black) padding; then `(v - spec.mean) / spec.std`. Returns [1, H, W].
 */
export function toModelImage(image: DecodedImage, spec: Pick<ImageSpec, 'size' | 'mean' | 'std'>): ModelImage {
  const [outH, outW] = spec.size;
  const display = applyVoi(image);
  if (image.photometric === 'MONOCHROME1') for (let i = 0; i < display.length; i++) display[i] = 1 - display[i]!;
  const scale = Math.min(outW / image.width, outH / image.height);
  const w = Math.max(1, Math.min(outW, Math.round(image.width * scale)));
  const h = Math.max(1, Math.min(outH, Math.round(image.height * scale)));
  const resized = resizeImage(display, image.width, image.height, w, h);
  const std = spec.std > 0 ? spec.std : 1;
  const data = new Float32Array(outH * outW).fill((0 - spec.mean) / std);
  const x0 = Math.floor((outW - w) / 2);
  const y0 = Math.floor((outH - h) / 2);
  for (let y = 0; y < h; y++) {
    const src = y * w;
    const dst = (y0 + y) * outW + x0;
    for (let x = 0; x < w; x++) data[dst + x] = (resized[src + x]! - spec.mean) / std;
  }
  return { dims: [1, outH, outW], data };
}
