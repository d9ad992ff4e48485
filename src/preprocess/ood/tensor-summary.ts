/**
 * Summary statistics of a model input tensor, the features of the out-of-distribution detectors
 * (issue #17). The reference model graphs expose no embedding output, so the detectors look at the
 * tensor the model is fed — after the project's own preprocessing and the manifest's normalisation —
 * through a handful of statistics that a wrong body part, an amplitude gain error or a report
 * in another vocabulary moves, and that cost one pass over the tensor.
 *
 * The names are written into the manifest with the statistics' training mean and covariance; a
 * manifest whose names differ from these lists was calibrated by another version of this file.
 */

/** Statistics of a single-channel image tensor [1, H, W] (the radiograph, or the rendered ECG). */
export const IMAGE_STATISTICS = [
  'mean',
  'std',
  'p05',
  'p95',
  'mean_abs_dx',
  'mean_abs_dy',
  'mirror_abs_diff',
  'centre_minus_sides',
  'top_minus_bottom',
] as const;

/** Statistics of a 12-lead waveform tensor [leads, samples] in mV. */
export const ECG_WAVEFORM_STATISTICS = [
  'log_rms',
  'log_max_abs',
  'log_mean_abs_diff',
  'zero_fraction',
  'einthoven_residual',
  'lead_rms_spread',
] as const;

/** Statistics of a token-id tensor [maxTokens] (0 = padding, 1 = unknown). */
export const TEXT_STATISTICS = ['length_fraction', 'unknown_fraction', 'distinct_fraction'] as const;

/** Image statistics in {@link IMAGE_STATISTICS} order. */
export function imageSummary(data: Float32Array, height: number, width: number): number[] {
  const n = height * width;
  let sum = 0;
  let sumSq = 0;
  let dx = 0;
  let dy = 0;
  let mirror = 0;
  let centre = 0;
  let centreCount = 0;
  let sides = 0;
  let top = 0;
  let bottom = 0;
  const third = Math.floor(width / 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = data[y * width + x] ?? 0;
      sum += v;
      sumSq += v * v;
      if (x + 1 < width) dx += Math.abs((data[y * width + x + 1] ?? 0) - v);
      if (y + 1 < height) dy += Math.abs((data[(y + 1) * width + x] ?? 0) - v);
      mirror += Math.abs((data[y * width + (width - 1 - x)] ?? 0) - v);
      if (x >= third && x < width - third) {
        centre += v;
        centreCount++;
      } else sides += v;
      if (y < height / 2) top += v;
      else bottom += v;
    }
  }
  const mean = sum / n;
  const sorted = Float32Array.from(data.subarray(0, n)).sort();
  const quantile = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))] ?? 0;
  const half = (n / 2) | 0 || 1;
  return [
    mean,
    Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
    quantile(0.05),
    quantile(0.95),
    dx / Math.max(1, height * (width - 1)),
    dy / Math.max(1, (height - 1) * width),
    mirror / n,
    centre / Math.max(1, centreCount) - sides / Math.max(1, n - centreCount),
    top / half - bottom / Math.max(1, n - half),
  ];
}

/**
 * Waveform statistics in {@link ECG_WAVEFORM_STATISTICS} order. `leads` names the rows; the
 * Einthoven residual (II − I − III, relative to II; 0 for a consistent recording) is computed only
 * when all three limb leads are rows, else it is 0.
 */
export function ecgWaveformSummary(data: Float32Array, leads: readonly string[], samples: number): number[] {
  let sumSq = 0;
  let maxAbs = 0;
  let diff = 0;
  let zeros = 0;
  const leadRms: number[] = [];
  for (let l = 0; l < leads.length; l++) {
    let leadSq = 0;
    for (let t = 0; t < samples; t++) {
      const v = data[l * samples + t] ?? 0;
      leadSq += v * v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
      if (v === 0) zeros++;
      if (t > 0) diff += Math.abs(v - (data[l * samples + t - 1] ?? 0));
    }
    sumSq += leadSq;
    leadRms.push(Math.sqrt(leadSq / samples));
  }
  const n = leads.length * samples;
  const [i, ii, iii] = ['I', 'II', 'III'].map((name) => leads.indexOf(name));
  let einthoven = 0;
  if (i !== undefined && ii !== undefined && iii !== undefined && i >= 0 && ii >= 0 && iii >= 0) {
    let residual = 0;
    let lead2 = 0;
    for (let t = 0; t < samples; t++) {
      const v2 = data[ii * samples + t] ?? 0;
      residual += (v2 - (data[i * samples + t] ?? 0) - (data[iii * samples + t] ?? 0)) ** 2;
      lead2 += v2 * v2;
    }
    einthoven = Math.sqrt(residual / (lead2 + 1e-6));
  }
  const meanLeadRms = leadRms.reduce((a, b) => a + b, 0) / Math.max(1, leadRms.length);
  const spread = Math.sqrt(
    leadRms.reduce((a, r) => a + (r - meanLeadRms) ** 2, 0) / Math.max(1, leadRms.length),
  );
  return [
    Math.log(Math.sqrt(sumSq / n) + 1e-3),
    Math.log(maxAbs + 1e-3),
    Math.log(diff / Math.max(1, leads.length * (samples - 1)) + 1e-4),
    zeros / n,
    Math.min(einthoven, 10),
    spread / (meanLeadRms + 1e-3),
  ];
}

/** Token statistics in {@link TEXT_STATISTICS} order. */
export function textSummary(ids: BigInt64Array): number[] {
  let length = 0;
  let unknown = 0;
  const distinct = new Set<bigint>();
  for (const id of ids) {
    if (id === 0n) continue;
    length++;
    if (id === 1n) unknown++;
    distinct.add(id);
  }
  return [
    length / Math.max(1, ids.length),
    unknown / Math.max(1, length),
    distinct.size / Math.max(1, length),
  ];
}
