import type { ModalityName, ModelManifest } from '../contracts/manifest-types.js';
import type { EvaluationDataset } from './evaluation-dataset.js';
import { buildFeeds, type FeedTensor } from './model-feeds.js';

/**
 * What the evaluation needs of a served model: one batch in, probabilities out. In production an
 * inference worker thread serves it (`onnx-runner.ts`); tests pass a fake.
 */
export interface ModelRunner {
  /** Run one batch; returns the `probabilities` output, row-major [batch, outcomes]. */
  run(feeds: Record<string, FeedTensor>): Promise<Float32Array>;
}

/** Probabilities of `rows`, row-major [rows.length, outcomes], computed in batches. */
export async function scoreModel(
  runner: ModelRunner,
  manifest: ModelManifest,
  dataset: EvaluationDataset,
  rows: readonly number[],
  options: { removed?: readonly ModalityName[]; batchSize?: number } = {},
): Promise<Float32Array> {
  const k = manifest.outcomes.length;
  const out = new Float32Array(rows.length * k);
  const batchSize = options.batchSize ?? 256;
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const probabilities = await runner.run(buildFeeds(manifest, dataset, batch, options.removed ?? []));
    if (probabilities.length !== batch.length * k) {
      throw new Error(`model returned ${probabilities.length} values for ${batch.length} rows × ${k} outcomes`);
    }
    out.set(probabilities, start * k);
  }
  return out;
}
