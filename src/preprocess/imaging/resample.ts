/** Sparse 1-D resampling weights: for each output index, input indices and weights summing to 1. */
interface Weights {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  stride: number;
}

/**
 * Weights for resizing an axis of `inSize` samples to `outSize`. Downscaling uses area averaging
 * (each output pixel is the coverage-weighted mean of the input pixels it spans — no aliasing,
 * as in OpenCV's INTER_AREA); upscaling uses bilinear interpolation with pixel centres aligned.
 */
function axisWeights(inSize: number, outSize: number): Weights {
  const scale = inSize / outSize;
  const stride = scale > 1 ? Math.ceil(scale) + 2 : 2;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * stride);
  for (let o = 0; o < outSize; o++) {
    if (scale > 1) {
      const lo = o * scale;
      const hi = lo + scale;
      const first = Math.floor(lo);
      const last = Math.min(inSize - 1, Math.ceil(hi) - 1);
      start[o] = first;
      count[o] = last - first + 1;
      for (let i = first; i <= last; i++) {
        const cover = Math.min(hi, i + 1) - Math.max(lo, i);
        weights[o * stride + (i - first)] = cover / scale;
      }
    } else {
      const x = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
      const first = Math.floor(x);
      const frac = x - first;
      start[o] = first;
      count[o] = first + 1 < inSize ? 2 : 1;
      weights[o * stride] = count[o] === 2 ? 1 - frac : 1;
      if (count[o] === 2) weights[o * stride + 1] = frac;
    }
  }
  return { start, count, weights, stride };
}

/**
 * A clamped linear map applied to each source pixel as its row is read: v = clamp(a·x + b, 0, 1),
 * then 1 − v when `invert`. Lets a linear VOI window be fused into the resize so that no
 * full-resolution intermediate image is allocated (one row at a time).
 */
export interface PixelWindow {
  a: number;
  b: number;
  invert: boolean;
}

/**
 * Resizes a row-major single-channel image, separably (horizontal pass, then vertical), with
 * area averaging when shrinking and bilinear interpolation when enlarging. With `window`, each
 * source pixel goes through the clamped linear map first (windowing precedes averaging).
 */
export function resizeImage(src: Float32Array, width: number, height: number, outWidth: number, outHeight: number, window?: PixelWindow): Float32Array {
  const wx = axisWeights(width, outWidth);
  const wy = axisWeights(height, outHeight);
  const tmp = new Float32Array(height * outWidth);
  // With a window, each source row is mapped into one row buffer before it is averaged: the
  // map's arithmetic stays in float64 as before, and no full-resolution image is allocated.
  const windowedRow = window ? new Float64Array(width) : undefined;
  const sign = window?.invert ? -1 : 1;
  const offset = window?.invert ? 1 : 0;
  for (let y = 0; y < height; y++) {
    let source: Float32Array | Float64Array = src;
    let row = y * width;
    if (window && windowedRow) {
      const { a, b } = window;
      for (let x = 0; x < width; x++) windowedRow[x] = offset + sign * Math.min(1, Math.max(0, a * src[row + x]! + b));
      source = windowedRow;
      row = 0;
    }
    for (let x = 0; x < outWidth; x++) {
      const s = wx.start[x]!;
      const c = wx.count[x]!;
      const base = x * wx.stride;
      let acc = 0;
      for (let k = 0; k < c; k++) acc += source[row + s + k]! * wx.weights[base + k]!;
      tmp[y * outWidth + x] = acc;
    }
  }
  return verticalPass(tmp, height, outWidth, outHeight, wy);
}

function verticalPass(tmp: Float32Array, height: number, outWidth: number, outHeight: number, wy: Weights): Float32Array {
  const out = new Float32Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    const s = wy.start[y]!;
    const c = wy.count[y]!;
    const base = y * wy.stride;
    const dst = y * outWidth;
    for (let k = 0; k < c; k++) {
      const w = wy.weights[base + k]!;
      const srcRow = (s + k) * outWidth;
      for (let x = 0; x < outWidth; x++) out[dst + x]! += tmp[srcRow + x]! * w;
    }
  }
  return out;
}
