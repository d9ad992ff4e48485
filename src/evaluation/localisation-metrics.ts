import { resizeImage } from '../preprocess/imaging/resample.js';
import { HALF_RANGE, regionThreshold, type RegionRule } from '../raster/map-to-source.js';
import { percentileInterval, resampleWeights, type Interval } from './bootstrap.js';

/**
 * Localisation metrics (issue 20) of one map against one ground-truth mask, both on the model
 * input grid. The map (model output grid, e.g. 4×4) is first upsampled to the input grid with
 * bilinear interpolation, pixel centres aligned (the preprocessing's own resampler), and only the
 * un-padded image region counts: padding is not image, so a maximum there points at nothing.
 */

/** Where the source image lies on the model input grid (the rest is padding). */
export interface ImageRegion {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

/** A map upsampled to the input grid, row-major `[height, width]`. */
export function upsampleMap(
  values: Float32Array,
  mapWidth: number,
  mapHeight: number,
  width: number,
  height: number,
): Float32Array {
  return resizeImage(values, mapWidth, mapHeight, width, height);
}

/** Index (row-major on the grid) of the largest value inside `region`; the first one on ties. */
export function argmaxInRegion(values: Float32Array, gridWidth: number, region: ImageRegion): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let y = region.y0; y < region.y0 + region.height; y++) {
    for (let x = region.x0; x < region.x0 + region.width; x++) {
      const v = values[y * gridWidth + x]!;
      if (v > bestValue) {
        bestValue = v;
        best = y * gridWidth + x;
      }
    }
  }
  return best;
}

/**
 * Pointing game (Zhang et al., ECCV 2016, without tolerance): 1 when the map's maximum inside the
 * image falls on a ground-truth pixel, else 0.
 */
export function pointingHit(
  values: Float32Array,
  mask: Uint8Array,
  gridWidth: number,
  region: ImageRegion,
): number {
  const at = argmaxInRegion(values, gridWidth, region);
  return at >= 0 && mask[at]! > 0 ? 1 : 0;
}

/**
 * IoU of the thresholded map with the mask, inside the image region: the predicted region is
 * every pixel at or above the rule's threshold over the region's values (`regionThreshold`, the
 * rule serving draws the SEG region with: half the range for an outcome map, half the largest
 * cell probability for a finding map). A flat map predicts nothing.
 */
export function thresholdedIou(
  values: Float32Array,
  mask: Uint8Array,
  gridWidth: number,
  region: ImageRegion,
  rule: RegionRule = HALF_RANGE,
): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let y = region.y0; y < region.y0 + region.height; y++) {
    for (let x = region.x0; x < region.x0 + region.width; x++) {
      const v = values[y * gridWidth + x]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const cut = regionThreshold(lo, hi, rule) ?? Infinity;
  let inter = 0;
  let union = 0;
  for (let y = region.y0; y < region.y0 + region.height; y++) {
    for (let x = region.x0; x < region.x0 + region.width; x++) {
      const predicted = values[y * gridWidth + x]! >= cut;
      const truth = mask[y * gridWidth + x]! > 0;
      if (predicted && truth) inter++;
      if (predicted || truth) union++;
    }
  }
  return union === 0 ? 0 : inter / union;
}

/** A mean over images with its 95 % bootstrap percentile interval. */
export interface MeanWithInterval extends Interval {
  mean: number;
  n: number;
}

/** Mean of per-image values and a seeded 95 % percentile bootstrap interval over images. */
export function bootstrapMean(values: readonly number[], seed: number, resamples = 2000): MeanWithInterval {
  const n = values.length;
  const mean = n === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / n;
  if (n === 0) return { mean, n, lower: null, upper: null };
  const means: number[] = [];
  for (const w of resampleWeights(n, resamples, seed)) {
    let s = 0;
    for (let i = 0; i < n; i++) s += w[i]! * values[i]!;
    means.push(s / n);
  }
  return { mean, n, ...percentileInterval(means) };
}
