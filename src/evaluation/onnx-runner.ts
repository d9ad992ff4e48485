import * as ort from 'onnxruntime-node';
import type { InferenceLogger } from '../inference/runtime/inference-logger.js';
import { createSessionFactory } from '../inference/runtime/onnx-session-factory.js';
import type { ModelRunner } from './score-model.js';

const SILENT: InferenceLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A {@link ModelRunner} over an `onnxruntime-node` session, plus a way to release it. */
export interface OnnxModelRunner extends ModelRunner {
  release(): Promise<void>;
}

/**
 * Open `model.onnx` with the CPU execution provider, through the server's session factory
 * (inference/runtime, #22: one way to open a session). The evaluation runs the same graph the
 * server loads, directly, so that the reported figures are the shipped artifact's.
 */
export async function openOnnxRunner(modelPath: string, outputName = 'probabilities'): Promise<OnnxModelRunner> {
  const { session } = await createSessionFactory(['cpu'], SILENT).open(modelPath);
  return {
    async run(feeds) {
      const tensors: Record<string, ort.Tensor> = {};
      for (const [name, feed] of Object.entries(feeds)) {
        tensors[name] =
          feed.type === 'int64'
            ? new ort.Tensor('int64', feed.data as BigInt64Array, feed.dims)
            : new ort.Tensor('float32', feed.data as Float32Array, feed.dims);
      }
      const result = await session.run(tensors);
      const output = result[outputName];
      if (!output || output.type !== 'float32') throw new Error(`model has no float32 output ${outputName}`);
      return output.data as Float32Array;
    },
    release: () => session.release(),
  };
}
