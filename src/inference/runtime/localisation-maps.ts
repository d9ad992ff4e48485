import type { FindingMap, OutcomeMap } from '../../contracts/localisation.js';
import type { ModelManifest } from '../../contracts/manifest-types.js';
import type { TensorData } from '../manifest/tensor-data.js';

/**
 * The per-outcome maps of one batch row from a `localisation` output [rows, K, h, w] (issue 20):
 * one {@link OutcomeMap} per outcome the manifest declares, channel k being the outcome with
 * `outcomes[].index` k, values copied (the batch buffer is not kept). `undefined` when the output
 * does not have the declared layout, so a malformed map is dropped rather than misread.
 */
export function localisationMapsOfRow(
  manifest: Pick<ModelManifest, 'outcomes'>,
  output: Pick<TensorData, 'dims' | 'data'>,
  row: number,
): OutcomeMap[] | undefined {
  const [rows, channels, height, width] = output.dims;
  if (output.dims.length !== 4 || rows === undefined || row >= rows || !channels || !height || !width)
    return undefined;
  if (!(output.data instanceof Float32Array)) return undefined;
  const cells = height * width;
  const maps: OutcomeMap[] = [];
  for (const outcome of manifest.outcomes) {
    if (outcome.index >= channels) return undefined;
    const start = (row * channels + outcome.index) * cells;
    maps.push({
      outcomeIndex: outcome.index,
      width,
      height,
      values: output.data.slice(start, start + cells),
    });
  }
  return maps;
}

/**
 * The finding maps of one batch row (issue 20): from `finding-map` [rows, F, h, w] and
 * `finding-probabilities` [rows, F], one {@link FindingMap} per `manifest.imageFindings` entry,
 * values copied. `undefined` when either output does not have the declared layout or a probability
 * is not a number in [0, 1], so a malformed output is dropped rather than misread.
 */
export function findingMapsOfRow(
  manifest: Pick<ModelManifest, 'imageFindings'>,
  map: Pick<TensorData, 'dims' | 'data'>,
  probabilities: Pick<TensorData, 'dims' | 'data'>,
  row: number,
): FindingMap[] | undefined {
  const [rows, channels, height, width] = map.dims;
  if (map.dims.length !== 4 || rows === undefined || row >= rows || !channels || !height || !width)
    return undefined;
  if (!(map.data instanceof Float32Array) || !(probabilities.data instanceof Float32Array)) return undefined;
  if (probabilities.dims.length !== 2 || probabilities.dims[0] !== rows || probabilities.dims[1] !== channels)
    return undefined;
  const cells = height * width;
  const out: FindingMap[] = [];
  for (const finding of manifest.imageFindings ?? []) {
    if (finding.index >= channels) return undefined;
    const probability = probabilities.data[row * channels + finding.index]!;
    if (!(probability >= 0 && probability <= 1)) return undefined;
    const start = (row * channels + finding.index) * cells;
    out.push({
      findingIndex: finding.index,
      probability,
      width,
      height,
      values: map.data.slice(start, start + cells),
    });
  }
  return out;
}
