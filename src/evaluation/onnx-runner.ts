import type { ModelManifest } from '../contracts/manifest-types.js';
import type { InferenceLogger } from '../inference/runtime/inference-logger.js';
import { createWorkerPool } from '../inference/runtime/worker-pool.js';
import type { ModelRunner } from './score-model.js';

const SILENT: InferenceLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** A {@link ModelRunner} over an inference worker, plus a way to stop it. */
export interface OnnxModelRunner extends ModelRunner {
  release(): Promise<void>;
}

/**
 * Serves `model.onnx` on the CPU execution provider from one inference worker thread, the way the
 * server serves it (inference/runtime, #22: one way to open and run a model), so the reported
 * figures are the shipped artifact's under the server's own session options. The feeds
 * `buildFeeds` makes are fresh arrays per batch, so transferring them to the worker is safe.
 */
export async function openOnnxRunner(
  modelPath: string,
  manifest: Pick<ModelManifest, 'inputs'>,
  outputName = 'probabilities',
): Promise<OnnxModelRunner> {
  const pool = await createWorkerPool({
    size: 1,
    models: [{ key: modelPath, modelPath, executionProvider: 'cpu', inputs: manifest.inputs }],
    logger: SILENT,
  });
  return {
    async run(feeds) {
      const tensors = Object.fromEntries(
        Object.entries(feeds).map(([name, feed]) => [
          name,
          { dtype: feed.type, dims: feed.dims, data: feed.data },
        ]),
      );
      const { outputs } = await pool.run(modelPath, tensors, [outputName]);
      const output = outputs[outputName];
      if (!output || !(output.data instanceof Float32Array))
        throw new Error(`model has no float32 output ${outputName}`);
      return output.data;
    },
    release: () => pool.close(),
  };
}
