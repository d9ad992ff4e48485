import { createRedirectGuardedFetch } from '../../fhir/outbound-fetch.js';
import { InferenceRunError, ModelRegistryError } from './inference-errors.js';
import type { TensorDtype, TensorSpec } from '../../contracts/manifest-types.js';
import type { TensorArray, TensorData } from '../manifest/tensor-data.js';
import type { WorkerPool, WorkerRunResult } from './worker-pool.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/**
 * A remote inference backend speaking the Open Inference Protocol (KServe V2 / NVIDIA Triton
 * HTTP/REST, `kserve/open-inference-protocol` specification/protocol/inference_rest.md), for
 * when one machine's CPU or GPU is not enough: a Triton (or KServe, Seldon MLServer, OpenVINO
 * Model Server) cluster serves the same `models/<name>/<version>/model.onnx` files — Triton's
 * model-repository layout is the one `models/` already uses.
 *
 * It stands where the worker-thread pool stands (same {@link WorkerPool} interface), so batching,
 * explanations and the manifest checks are unchanged: the engine sends one batched request per
 * micro-batch.
 */

/** One model the remote server must serve, as the local registry verified it. */
export interface RemoteModelSpec {
  /** `name@version`, the engine's key. */
  key: string;
  name: string;
  version: string;
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

/** Options for {@link connectKserveV2}. */
export interface KserveV2Options {
  /** Server base URL, e.g. `http://triton:8000` (the `/v2/...` paths are appended). */
  baseUrl: string;
  models: readonly RemoteModelSpec[];
  /** Abort each HTTP call after this many milliseconds. */
  timeoutMs: number;
  /** Requests in flight at once (reported as the pool size; default 4). */
  concurrency?: number;
  fetch?: typeof globalThis.fetch;
}

/** `$metadata_tensor` of the protocol's model-metadata response. */
interface MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

interface ModelMetadata {
  name?: string;
  versions?: string[];
  platform?: string;
  inputs?: MetadataTensor[];
  outputs?: MetadataTensor[];
}

interface InferResponse {
  model_name?: string;
  outputs?: Array<MetadataTensor & { data?: unknown }>;
  error?: string;
}

/** Protocol tensor data types (inference_rest.md §"Tensor Data Types") for the manifest's dtypes. */
const DATATYPE: Record<TensorDtype, string> = {
  float32: 'FP32',
  int64: 'INT64',
  int32: 'INT32',
  bool: 'BOOL',
};
/** The inverse of {@link DATATYPE}: one table, so the two directions cannot disagree. */
const DTYPE_OF: Readonly<Record<string, TensorDtype>> = Object.fromEntries(
  Object.entries(DATATYPE).map(([dtype, datatype]) => [datatype, dtype as TensorDtype]),
);

/**
 * Differences between what the manifest declares and what the server reports for a model, Triton
 * style: every manifest tensor must exist with the same datatype and rank; a static manifest axis
 * must equal the server's (a dynamic server axis, -1, accepts it).
 */
export function compareRemoteMetadata(spec: RemoteModelSpec, metadata: ModelMetadata): string[] {
  const problems: string[] = [];
  const check = (
    side: 'input' | 'output',
    wanted: readonly TensorSpec[],
    have: MetadataTensor[] | undefined,
  ) => {
    for (const tensor of wanted) {
      const found = have?.find((t) => t.name === tensor.name);
      if (!found) {
        problems.push(
          `${side} '${tensor.name}' is not served (server has: ${(have ?? []).map((t) => t.name).join(', ') || 'none'})`,
        );
        continue;
      }
      if (found.datatype !== DATATYPE[tensor.dtype]) {
        problems.push(
          `${side} '${tensor.name}' is ${found.datatype} on the server, ${DATATYPE[tensor.dtype]} in the manifest`,
        );
      }
      if (found.shape.length !== tensor.shape.length) {
        problems.push(
          `${side} '${tensor.name}' has rank ${found.shape.length} on the server, ${tensor.shape.length} in the manifest`,
        );
        continue;
      }
      tensor.shape.forEach((dim, axis) => {
        const remote = found.shape[axis] as number;
        if (dim >= 0 && remote >= 0 && dim !== remote) {
          problems.push(
            `${side} '${tensor.name}' axis ${axis} is ${remote} on the server, ${dim} in the manifest`,
          );
        }
      });
    }
  };
  check('input', spec.inputs, metadata.inputs);
  check('output', spec.outputs, metadata.outputs);
  return problems;
}

function flatten(data: TensorArray): Array<number | boolean> {
  if (data instanceof BigInt64Array) {
    // JSON numbers are doubles; token ids and masks are far below 2^53.
    return Array.from(data, (v) => Number(v));
  }
  if (data instanceof Uint8Array) return Array.from(data, (v) => v !== 0);
  return Array.from(data);
}

function toTypedArray(dtype: TensorDtype, values: unknown[]): TensorArray {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values as number[]);
    case 'int64':
      return BigInt64Array.from(values as number[], (v) => BigInt(Math.trunc(v)));
    case 'int32':
      return Int32Array.from(values as number[]);
    case 'bool':
      return Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0));
  }
}

/**
 * Connects to a KServe V2 server: waits for nothing, checks that the server is ready
 * (`GET /v2/health/ready`), that each model version is ready (`GET /v2/models/{m}/versions/{v}/ready`)
 * and that its metadata matches the manifest, and refuses with a {@link ModelRegistryError}
 * naming the model and every difference otherwise (the rule the local registry applies to the
 * ONNX graph: nothing is served from a server that would answer with other tensors).
 */
export async function connectKserveV2(options: KserveV2Options): Promise<WorkerPool> {
  // The inference server is configured; a redirect to another origin is refused (no SSRF).
  const fetchFn = createRedirectGuardedFetch({ fetch: options.fetch ?? globalThis.fetch });
  const base = withoutTrailingSlash(options.baseUrl);
  const byKey = new Map(options.models.map((m) => [m.key, m]));
  let inFlight = 0;

  async function call(path: string, init?: RequestInit): Promise<Response> {
    try {
      return await fetchFn(`${base}${path}`, { ...init, signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (err) {
      throw new InferenceRunError(`KServe V2 server ${base} unreachable: ${(err as Error).message}`);
    }
  }
  const modelPath = (m: RemoteModelSpec) =>
    `/v2/models/${encodeURIComponent(m.name)}/versions/${encodeURIComponent(m.version)}`;

  const ready = await call('/v2/health/ready');
  if (ready.status !== 200)
    throw new ModelRegistryError(
      '*',
      '*',
      `KServe V2 server ${base}`,
      `not ready (GET /v2/health/ready answered ${ready.status})`,
    );
  for (const model of options.models) {
    const refuse = (detail: string) =>
      new ModelRegistryError(model.name, model.version, `KServe V2 server ${base}`, detail);
    const modelReady = await call(`${modelPath(model)}/ready`);
    if (modelReady.status !== 200) throw refuse(`model version not ready (HTTP ${modelReady.status})`);
    const response = await call(modelPath(model));
    if (response.status !== 200) throw refuse(`model metadata answered HTTP ${response.status}`);
    const problems = compareRemoteMetadata(model, (await response.json()) as ModelMetadata);
    if (problems.length > 0) throw refuse(`served graph differs from the manifest: ${problems.join('; ')}`);
  }

  return {
    size: options.concurrency ?? 4,
    inFlight: () => inFlight,
    async run(key, feeds, outputs): Promise<WorkerRunResult> {
      const model = byKey.get(key);
      if (!model) throw new InferenceRunError(`${key} is not served by the KServe V2 backend`);
      const wanted = outputs ?? model.outputs.map((o) => o.name);
      // Inference request JSON object (inference_rest.md §"Inference Request JSON Object"): tensors
      // as flattened row-major data with their shape.
      const body = JSON.stringify({
        inputs: Object.entries(feeds).map(([name, t]) => ({
          name,
          shape: t.dims,
          datatype: DATATYPE[t.dtype],
          data: flatten(t.data),
        })),
        outputs: wanted.map((name) => ({ name })),
      });
      inFlight++;
      const started = performance.now();
      try {
        const response = await call(`${modelPath(model)}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        const parsed = (await response.json().catch(() => ({}))) as InferResponse;
        if (response.status !== 200) {
          throw new InferenceRunError(
            `${key}: KServe V2 inference answered HTTP ${response.status}${parsed.error ? `: ${parsed.error}` : ''}`,
          );
        }
        const result: Record<string, TensorData> = {};
        for (const name of wanted) {
          const out = parsed.outputs?.find((o) => o.name === name);
          const dtype = out ? DTYPE_OF[out.datatype] : undefined;
          if (!out || !dtype || !Array.isArray(out.data))
            throw new InferenceRunError(`${key}: KServe V2 response lacks output '${name}'`);
          const expected = out.shape.reduce((a, b) => a * b, 1);
          if (out.data.length !== expected) {
            throw new InferenceRunError(
              `${key}: output '${name}' has ${out.data.length} values for shape [${out.shape.join(', ')}]`,
            );
          }
          result[name] = { dtype, dims: out.shape, data: toTypedArray(dtype, out.data) };
        }
        return { outputs: result, runMs: performance.now() - started };
      } finally {
        inFlight--;
      }
    },
    async close() {
      // Stateless HTTP: nothing to stop; in-flight requests finish or time out on their own.
    },
  };
}
