/**
 * Worker-thread entry: owns ONNX Runtime sessions, because `session.run` in onnxruntime-node
 * blocks the thread that calls it. Started by `worker-pool.ts`; from TypeScript source (tsx, vitest)
 * the pool loads it through tsx's `tsImport` bootstrap (see `inferenceWorkerEntry`).
 */
import { threadCpuMs } from '../../observability/thread-cpu.js';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { TensorDtype } from '../../contracts/manifest-types.js';
import type { TensorArray, TensorData } from '../manifest/tensor-data.js';
import {
  transferList,
  type InferenceWorkerData,
  type RunRequestMessage,
  type WorkerMessage,
} from './worker-protocol.js';
import { openSessionOn } from './onnx-session-factory.js';
import { zeroFeeds } from './zero-feeds.js';
import { outputsByRequestedName } from '../manifest/ort-output-names.js';

const SUPPORTED: readonly string[] = ['float32', 'int64', 'int32', 'bool'];

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('inference-worker must run in a worker thread');
  const data = workerData as InferenceWorkerData;
  const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void =>
    port.postMessage(message, transfer);
  const sessions = new Map<string, ort.InferenceSession>();
  try {
    for (const model of data.models) {
      const session = await openSessionOn(model.modelPath, model.executionProvider, {
        ...(data.intraOpThreads ? { intraOpThreads: data.intraOpThreads } : {}),
      });
      // Warm-up on a zero batch before reporting ready (Triton model warmup).
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(zeroFeeds(model, 1)))
        feeds[name] = new ort.Tensor(t.dtype, t.data, t.dims);
      await session.run(feeds);
      sessions.set(model.key, session);
    }
  } catch (error) {
    post({ type: 'init-error', message: error instanceof Error ? error.message : String(error) });
    return;
  }

  port.on('message', (message: RunRequestMessage | { type: 'close' }) => {
    if (message.type === 'close') {
      void Promise.all([...sessions.values()].map((s) => s.release())).finally(() => port.close());
      return;
    }
    void run(message).then(
      (outputs) => post(outputs.message, outputs.transfer),
      (error: unknown) =>
        post({
          type: 'run-error',
          id: message.id,
          message: error instanceof Error ? error.message : String(error),
        }),
    );
  });
  post({ type: 'ready' });

  async function run(
    request: RunRequestMessage,
  ): Promise<{ message: WorkerMessage; transfer: ArrayBuffer[] }> {
    const session = sessions.get(request.model);
    if (!session) throw new Error(`model ${request.model} is not loaded in this worker`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(request.feeds))
      feeds[name] = new ort.Tensor(t.dtype, t.data, t.dims);
    const started = performance.now();
    const cpu0 = threadCpuMs();
    const results = request.outputs
      ? outputsByRequestedName(
          request.outputs,
          session.outputNames,
          await session.run(feeds, request.outputs),
        )
      : await session.run(feeds);
    const runMs = performance.now() - started;
    const cpu1 = threadCpuMs();
    // This thread's own CPU during the run (session.run blocks it), where Linux reports it.
    const cpuMs = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
    const outputs: Record<string, TensorData> = {};
    for (const [name, value] of Object.entries(results)) {
      if (!SUPPORTED.includes(value.type))
        throw new Error(`output '${name}' has unsupported type ${value.type}`);
      const raw = value.data as TensorArray;
      // Output arrays own their buffer in onnxruntime-node; copy only if that ever changes, so the
      // transfer below never detaches memory the array does not own.
      const owned =
        raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength ? raw : (raw.slice() as TensorArray);
      outputs[name] = { dtype: value.type as TensorDtype, dims: [...value.dims], data: owned };
    }
    return {
      message: { type: 'result', id: request.id, outputs, runMs, ...(cpuMs !== undefined ? { cpuMs } : {}) },
      transfer: transferList(outputs),
    };
  }
}

void main();
