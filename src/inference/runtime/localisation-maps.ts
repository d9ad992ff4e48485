import type { OutcomeMap } from '../../contracts/localisation.js';
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
