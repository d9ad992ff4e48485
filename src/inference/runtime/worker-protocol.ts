import type { GraphTensorSpec } from '../manifest/golden-check.js';
import type { TensorData } from '../manifest/tensor-data.js';

/** What a worker loads: one entry per active model version. */
export interface WorkerModelSpec {
  key: string;
  modelPath: string;
  executionProvider: string;
  /** Manifest inputs, for the warm-up run's zero batch. */
  inputs: GraphTensorSpec[];
}

/** `workerData` given to each inference worker. */
export interface InferenceWorkerData {
  models: WorkerModelSpec[];
  intraOpThreads?: number;
}

/** Main thread → worker. Feed buffers are transferred, not copied. */
export interface RunRequestMessage {
  type: 'run';
  id: number;
  model: string;
  feeds: Record<string, TensorData>;
  /** Output names to fetch (all graph outputs when omitted). */
  outputs?: string[];
}

/** Worker → main thread. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, TensorData>; runMs: number; cpuMs?: number }
  | { type: 'run-error'; id: number; message: string };

/** The ArrayBuffers to put in a postMessage transfer list for these tensors. */
export function transferList(tensors: Record<string, TensorData>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const t of Object.values(tensors)) {
    if (
      t.data.buffer instanceof ArrayBuffer &&
      t.data.byteOffset === 0 &&
      t.data.byteLength === t.data.buffer.byteLength
    )
      buffers.add(t.data.buffer);
  }
  return [...buffers];
}
