import type { ImageGeometry } from '../../contracts/localisation.js';
import type { ModalityPreprocessing } from '../../contracts/manifest-types.js';
import type { DecodedImage } from './decode-dicom-image.js';
import { resizeImage } from './resample.js';

/** The manifest's image preprocessing section. */
export type ImageSpec = NonNullable<ModalityPreprocessing['image']>;

/** Model-ready image: `data` is [1, H, W] row-major, normalised with the manifest's mean/std. */
export interface ModelImage {
  dims: [1, number, number];
  data: Float32Array;
  /** Where the resized frame sits in the model grid, for mapping model outputs back (issue #20). */
  geometry: ImageGeometry;
}

/**
 * Where a `width`×`height` frame lands in a model grid of `size` = [H, W]: aspect-preserving scale
 * to fit, rounded to whole pixels (at least 1), centred with the remainder as padding (the left and
 * top padding get the floor). {@link toModelImage} places pixels exactly here, and the localisation
 * write-back inverts it, so both must come from this one function.
 */
export function modelImageGeometry(width: number, height: number, size: readonly [number, number]): ImageGeometry {
  const [outH, outW] = size;
  const scale = Math.min(outW / width, outH / height);
  const w = Math.max(1, Math.min(outW, Math.round(width * scale)));
  const h = Math.max(1, Math.min(outH, Math.round(height * scale)));
  return {
    sourceWidth: width,
    sourceHeight: height,
    modelWidth: outW,
    modelHeight: outH,
    offsetX: Math.floor((outW - w) / 2),
    offsetY: Math.floor((outH - h) / 2),
    scaledWidth: w,
    scaledHeight: h,
  };
}

/**
 * The VOI stage as a clamped linear map y = clamp(a·x + b) when it is one (a LINEAR or
 * LINEAR_EXACT window, or min/max without padding); `undefined` for a VOI LUT, SIGMOID, or
 * min/max with Pixel Padding Value, which need {@link applyVoi}.
 */
export function linearVoi(image: DecodedImage): { a: number; b: number } | undefined {
  if (image.voiLut) return undefined;
  if (image.windowCenter !== undefined && image.windowWidth !== undefined) {
    const c = image.windowCenter;
    const w = image.windowWidth;
    const fn = image.voiLutFunction ?? 'LINEAR';
    if (fn === 'SIGMOID') return undefined;
    if (fn === 'LINEAR_EXACT') return { a: 1 / w, b: 0.5 - c / w };
    // PS3.3 C.11.2.1.2.1; a width ≤ 1 degenerates to a threshold at c − 0.5.
    if (w <= 1) return { a: 1e30, b: -(c - 0.5) * 1e30 };
    return { a: 1 / (w - 1), b: 0.5 - (c - 0.5) / (w - 1) };
  }
  if (image.paddingValue !== undefined) return undefined;
  const { pixels } = image;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const x = pixels[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const range = hi > lo ? hi - lo : 1;
  return { a: 1 / range, b: -lo / range };
}

/**
 * Display values in [0, 1] through the VOI stage (PS3.3 C.11.2): a VOI LUT when present, else
 * the first window (C.11.2.1.2.1 LINEAR, LINEAR_EXACT or SIGMOID), else the image's own min/max
 * (ignoring Pixel Padding Value). With `invert` the result is 1 − value (for MONOCHROME1).
 */
export function applyVoi(image: DecodedImage, invert = false): Float32Array {
  const { pixels } = image;
  const n = pixels.length;
  const out = new Float32Array(n);
  // Every branch below maps to [0, 1] as y = clamp(a·x + b) or a LUT, then optionally 1 − y;
  // loops are kept branch-free per pixel because this runs over millions of pixels.
  const sign = invert ? -1 : 1;
  const offset = invert ? 1 : 0;
  if (image.voiLut) {
    const { firstMapped, data, bits } = image.voiLut;
    const last = data.length - 1;
    const scale = 1 / (2 ** bits - 1);
    for (let i = 0; i < n; i++) {
      const idx = Math.min(last, Math.max(0, Math.round(pixels[i]!) - firstMapped));
      out[i] = offset + sign * Math.min(1, data[idx]! * scale);
    }
    return out;
  }
  if (image.windowCenter !== undefined && image.windowWidth !== undefined && image.voiLutFunction === 'SIGMOID') {
    const c = image.windowCenter;
    const w = image.windowWidth;
    for (let i = 0; i < n; i++) out[i] = offset + sign / (1 + Math.exp((-4 * (pixels[i]! - c)) / w));
    return out;
  }
  const linear = linearVoi(image);
  if (!linear) {
    // Min/max excluding Pixel Padding Value; padding itself maps to 0 (black) even when inverted.
    let lo = Infinity;
    let hi = -Infinity;
    const pad = image.paddingValue;
    for (let i = 0; i < n; i++) {
      const x = pixels[i]!;
      if (x === pad) continue;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    const range = hi > lo ? hi - lo : 1;
    for (let i = 0; i < n; i++) {
      const x = pixels[i]!;
      out[i] = x === pad ? 0 : offset + sign * Math.min(1, Math.max(0, (x - lo) / range));
    }
    return out;
  }
  const { a, b } = linear;
  for (let i = 0; i < n; i++) out[i] = offset + sign * Math.min(1, Math.max(0, a * pixels[i]! + b));
  return out;
}

/**
 * Turns a decoded frame into the model's input: VOI windowing to [0, 1]; MONOCHROME1 inverted
 * (PS3.3 C.7.6.3.1.2: there the minimum value is white) so air is dark and bone bright for every
 * image; aspect-preserving resize to fit `spec.size` (area averaging when shrinking), centred
 * zero (black) padding; then `(v - spec.mean) / spec.std`. Returns [1, H, W] and the
 * {@link modelImageGeometry} it used.
 */
export function toModelImage(image: DecodedImage, spec: Pick<ImageSpec, 'size' | 'mean' | 'std'>): ModelImage {
  const [outH, outW] = spec.size;
  const invert = image.photometric === 'MONOCHROME1';
  const geometry = modelImageGeometry(image.width, image.height, spec.size);
  const { scaledWidth: w, scaledHeight: h, offsetX: x0, offsetY: y0 } = geometry;
  // A linear window is fused into the resize (no full-size intermediate); others go through applyVoi.
  const linear = linearVoi(image);
  const resized = linear
    ? resizeImage(image.pixels, image.width, image.height, w, h, { ...linear, invert })
    : resizeImage(applyVoi(image, invert), image.width, image.height, w, h);
  const std = spec.std > 0 ? spec.std : 1;
  const data = new Float32Array(outH * outW).fill((0 - spec.mean) / std);
  for (let y = 0; y < h; y++) {
    const src = y * w;
    const dst = (y0 + y) * outW + x0;
    for (let x = 0; x < w; x++) data[dst + x] = (resized[src + x]! - spec.mean) / std;
  }
  return { dims: [1, outH, outW], data, geometry };
}
