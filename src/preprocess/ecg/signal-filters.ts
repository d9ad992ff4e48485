/**
 * Resamples a uniformly sampled signal from `fromHz` to `toHz` with a Kaiser-windowed sinc
 * (band-limited interpolation, as in Smith's "Digital Audio Resampling" / resampy). When
 * downsampling the sinc's cut-off drops to the new Nyquist frequency, so the signal is low-pass
 * filtered before decimation and nothing aliases; linear interpolation would not do that.
 */
export function resampleSignal(x: Float64Array, fromHz: number, toHz: number, halfWidthZeroCrossings = 16): Float64Array {
  if (Math.abs(fromHz - toHz) < 1e-9) return Float64Array.from(x);
  const ratio = toHz / fromHz;
  const outLength = Math.max(0, Math.floor(x.length * ratio));
  const out = new Float64Array(outLength);
  // Cut-off as a fraction of the input Nyquist, with a little guard band below the new Nyquist.
  const cutoff = Math.min(1, ratio) * 0.95;
  const halfWidth = halfWidthZeroCrossings / cutoff; // in input samples
  const beta = 8.6;
  const i0Beta = besselI0(beta);
  const cache = new Map<number, { first: number; w: Float64Array }>();
  for (let n = 0; n < outLength; n++) {
    const t = n / ratio; // position in input samples
    const first = Math.ceil(t - halfWidth);
    const last = Math.floor(t + halfWidth);
    const phase = Math.round((t - Math.floor(t)) * 1e6);
    let entry = cache.get(phase);
    if (!entry || entry.first !== first - Math.floor(t)) {
      const w = new Float64Array(last - first + 1);
      let sum = 0;
      for (let k = first; k <= last; k++) {
        const d = k - t;
        const r = d / halfWidth;
        const window = Math.abs(r) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
        const arg = Math.PI * cutoff * d;
        const sinc = Math.abs(arg) < 1e-12 ? 1 : Math.sin(arg) / arg;
        w[k - first] = cutoff * sinc * window;
        sum += w[k - first]!;
      }
      // Normalise for unit DC gain so a constant offset survives resampling exactly.
      for (let k = 0; k < w.length; k++) w[k] = w[k]! / sum;
      entry = { first: first - Math.floor(t), w };
      if (cache.size < 4096) cache.set(phase, entry);
    }
    let acc = 0;
    const base = Math.floor(t) + entry.first;
    for (let k = 0; k < entry.w.length; k++) {
      // Edges: repeat the end samples rather than assume zeros, so no step appears at the ends.
      const idx = Math.min(x.length - 1, Math.max(0, base + k));
      acc += x[idx]! * entry.w[k]!;
    }
    out[n] = acc;
  }
  return out;
}

/** Modified Bessel function of the first kind, order 0 (series; used by the Kaiser window). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-16) break;
  }
  return sum;
}

interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/** Second-order Butterworth high-pass by the bilinear transform with pre-warping (RBJ cookbook, Q = 1/√2). */
function butterworthHighPass(cutoffHz: number, sampleRateHz: number): Biquad {
  const w0 = (2 * Math.PI * cutoffHz) / sampleRateHz;
  const alpha = Math.sin(w0) / (2 * Math.SQRT1_2);
  const cos = Math.cos(w0);
  const a0 = 1 + alpha;
  return { b0: (1 + cos) / 2 / a0, b1: -(1 + cos) / a0, b2: (1 + cos) / 2 / a0, a1: (-2 * cos) / a0, a2: (1 - alpha) / a0 };
}

function runBiquad(f: Biquad, x: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  let x1 = x[0] ?? 0;
  let x2 = x1;
  // Start in the steady state for a constant input equal to the first sample (output 0 for a high-pass).
  let y1 = 0;
  let y2 = 0;
  for (let n = 0; n < x.length; n++) {
    const v = x[n]!;
    const out = f.b0 * v + f.b1 * x1 + f.b2 * x2 - f.a1 * y1 - f.a2 * y2;
    x2 = x1;
    x1 = v;
    y2 = y1;
    y1 = out;
    y[n] = out;
  }
  return y;
}

/**
 * Removes baseline wander with a zero-phase (forward–backward) 2nd-order Butterworth high-pass at
 * `cutoffHz` (0.5 Hz by default: the usual choice for model input; AHA/ACC/HRS 2007 asks 0.05 Hz
 * for diagnostic display, which keeps ST segments but also more wander). The ends are padded by
 * odd reflection (as scipy's filtfilt) so the filter does not ring at the edges.
 */
export function removeBaselineWander(x: Float64Array, sampleRateHz: number, cutoffHz = 0.5): Float64Array {
  if (x.length < 3) return Float64Array.from(x);
  const f = butterworthHighPass(cutoffHz, sampleRateHz);
  const pad = Math.min(x.length - 1, Math.round((3 * sampleRateHz) / cutoffHz / 2));
  const padded = new Float64Array(x.length + 2 * pad);
  const first = x[0]!;
  const last = x[x.length - 1]!;
  for (let k = 0; k < pad; k++) padded[k] = 2 * first - x[pad - k]!;
  padded.set(x, pad);
  for (let k = 0; k < pad; k++) padded[pad + x.length + k] = 2 * last - x[x.length - 2 - k]!;
  const forward = runBiquad(f, padded);
  forward.reverse();
  const backward = runBiquad(f, forward);
  backward.reverse();
  return backward.slice(pad, pad + x.length);
}

/** Replaces NaN runs by linear interpolation between their neighbours (ends: nearest value). */
export function fillGaps(x: Float64Array): { filled: Float64Array; valid: number } {
  const out = Float64Array.from(x);
  let valid = 0;
  let prev = -1;
  for (let i = 0; i <= out.length; i++) {
    if (i < out.length && Number.isNaN(out[i]!)) continue;
    if (i < out.length) valid++;
    const gapStart = prev + 1;
    if (i - gapStart > 0) {
      const a = prev >= 0 ? out[prev]! : i < out.length ? out[i]! : 0;
      const b = i < out.length ? out[i]! : a;
      for (let k = gapStart; k < i; k++) out[k] = prev < 0 || i >= out.length ? (prev < 0 ? b : a) : a + ((b - a) * (k - prev)) / (i - prev);
    }
    prev = i;
  }
  return { filled: out, valid };
}
