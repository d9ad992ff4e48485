import type { FindingMap, OutcomeMap } from '../../contracts/localisation.js';
import type { ModelManifest } from '../../contracts/manifest-types.js';
import type { TensorData } from '../manifest/tensor-data.js';

/**
 * One batch row of a map output [rows, channels, h, w]: each channel's cells copied out (the batch
 * buffer is not kept), or `undefined` when the output does not have that layout or a requested
 * channel is outside it — a malformed map is dropped rather than misread.
 */
function rowOfMaps(
  output: Pick<TensorData, 'dims' | 'data'>,
  row: number,
):
  | { channels: number; height: number; width: number; channel(c: number): Float32Array | undefined }
  | undefined {
  const [rows, channels, height, width] = output.dims;
  if (output.dims.length !== 4 || rows === undefined || row >= rows || !channels || !height || !width)
    return undefined;
  const data = output.data;
  if (!(data instanceof Float32Array)) return undefined;
  const cells = height * width;
  return {
    channels,
    height,
    width,
    channel: (c) =>
      c < channels ? data.slice((row * channels + c) * cells, (row * channels + c + 1) * cells) : undefined,
  };
}

/**
 * The per-outcome maps of one batch row from a `localisation` output [rows, K, h, w] (issue 20):
 * one {@link OutcomeMap} per outcome the manifest declares, channel k being the outcome with
 * `outcomes[].index` k, values copied. `undefined` when the output does not have the declared
 * layout ({@link rowOfMaps}).
 */
export function localisationMapsOfRow(
  manifest: Pick<ModelManifest, 'outcomes'>,
  output: Pick<TensorData, 'dims' | 'data'>,
  row: number,
): OutcomeMap[] | undefined {
  const grid = rowOfMaps(output, row);
  if (!grid) return undefined;
  const maps: OutcomeMap[] = [];
  for (const outcome of manifest.outcomes) {
    const values = grid.channel(outcome.index);
    if (!values) return undefined;
    maps.push({ outcomeIndex: outcome.index, width: grid.width, height: grid.height, values });
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
  const grid = rowOfMaps(map, row);
  if (!grid || !(probabilities.data instanceof Float32Array)) return undefined;
  const { channels } = grid;
  if (
    probabilities.dims.length !== 2 ||
    probabilities.dims[0] !== map.dims[0] ||
    probabilities.dims[1] !== channels
  )
    return undefined;
  const out: FindingMap[] = [];
  for (const finding of manifest.imageFindings ?? []) {
    const values = grid.channel(finding.index);
    const probability = probabilities.data[row * channels + finding.index];
    if (!values || probability === undefined || !(probability >= 0 && probability <= 1)) return undefined;
    out.push({ findingIndex: finding.index, probability, width: grid.width, height: grid.height, values });
  }
  return out;
}
