import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import * as ort from 'onnxruntime-node';

/**
 * A small Open Inference Protocol (KServe V2) HTTP server over ONNX Runtime, standing in for a
 * Triton cluster in tests: it serves `<repo>/<model>/<version>/model.onnx` (Triton's repository
 * layout) with the protocol's health, model-readiness, model-metadata and inference endpoints,
 * reports each graph's own inputs and outputs (dynamic axes as -1, as Triton does for ONNX), and
 * answers protocol errors as `{"error": "..."}`. `tamper` lets a test make it lie about a model.
 */
export interface KserveV2TestServer {
  url: string;
  /** Inference requests answered, per `name/version`. */
  inferCount: Map<string, number>;
  /** Rewrites a model's metadata before it is sent (to simulate a server serving another graph). */
  tamper: (fn: ((key: string, metadata: ModelMetadata) => ModelMetadata) | undefined) => void;
  /** Answers every inference with this HTTP status (undefined: normal service). */
  failInference: (status: number | undefined) => void;
  close: () => Promise<void>;
}

interface MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

/** The protocol's model-metadata response object. */
export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: MetadataTensor[];
  outputs: MetadataTensor[];
}

const DATATYPE: Record<string, string> = { float32: 'FP32', int64: 'INT64', int32: 'INT32', bool: 'BOOL' };

function describe(values: readonly ort.InferenceSession.ValueMetadata[]): MetadataTensor[] {
  return values.map((v) => {
    if (!v.isTensor) throw new Error(`${v.name} is not a tensor`);
    return { name: v.name, datatype: DATATYPE[v.type] ?? v.type.toUpperCase(), shape: v.shape.map((d) => (typeof d === 'number' ? d : -1)) };
  });
}

function tensorOf(input: { name: string; datatype: string; shape: number[]; data: unknown[] }): ort.Tensor {
  const data = input.data.flat(Infinity as 1) as Array<number | boolean>;
  switch (input.datatype) {
    case 'FP32':
      return new ort.Tensor('float32', Float32Array.from(data as number[]), input.shape);
    case 'INT64':
      return new ort.Tensor('int64', BigInt64Array.from(data as number[], (v) => BigInt(v)), input.shape);
    case 'INT32':
      return new ort.Tensor('int32', Int32Array.from(data as number[]), input.shape);
    case 'BOOL':
      return new ort.Tensor('bool', Uint8Array.from(data as boolean[], (v) => (v ? 1 : 0)), input.shape);
    default:
      throw new Error(`unsupported datatype ${input.datatype}`);
  }
}

/** Starts the server on a free loopback port with every model version found under `repo`. */
export async function startKserveV2TestServer(repo: string): Promise<KserveV2TestServer> {
  const sessions = new Map<string, { session: ort.InferenceSession; metadata: ModelMetadata }>();
  for (const name of readdirSync(repo)) {
    if (name.startsWith('.') || !statSync(join(repo, name)).isDirectory()) continue;
    for (const version of readdirSync(join(repo, name))) {
      const file = join(repo, name, version, 'model.onnx');
      if (!existsSync(file)) continue;
      const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
      sessions.set(`${name}/${version}`, {
        session,
        metadata: { name, versions: [version], platform: 'onnxruntime_onnx', inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) },
      });
    }
  }
  let tamper: ((key: string, metadata: ModelMetadata) => ModelMetadata) | undefined;
  let failStatus: number | undefined;
  const inferCount = new Map<string, number>();
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 256 * 1024 * 1024 });
  const find = (params: { name: string; version: string }) => sessions.get(`${params.name}/${params.version}`);

  app.get('/v2/health/live', async (_req, reply) => reply.code(200).send({}));
  app.get('/v2/health/ready', async (_req, reply) => reply.code(200).send({}));
  app.get<{ Params: { name: string; version: string } }>('/v2/models/:name/versions/:version/ready', async (req, reply) =>
    reply.code(find(req.params) ? 200 : 404).send(find(req.params) ? {} : { error: 'unknown model' }),
  );
  app.get<{ Params: { name: string; version: string } }>('/v2/models/:name/versions/:version', async (req, reply) => {
    const found = find(req.params);
    if (!found) return reply.code(404).send({ error: `unknown model ${req.params.name} version ${req.params.version}` });
    const key = `${req.params.name}/${req.params.version}`;
    return reply.send(tamper ? tamper(key, structuredClone(found.metadata)) : found.metadata);
  });
  app.post<{
    Params: { name: string; version: string };
    Body: { inputs?: Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }>; outputs?: Array<{ name: string }> };
  }>('/v2/models/:name/versions/:version/infer', async (req, reply) => {
    if (failStatus) return reply.code(failStatus).send({ error: 'injected failure' });
    const found = find(req.params);
    if (!found) return reply.code(404).send({ error: 'unknown model' });
    const key = `${req.params.name}/${req.params.version}`;
    inferCount.set(key, (inferCount.get(key) ?? 0) + 1);
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const input of req.body.inputs ?? []) {
        const spec = found.metadata.inputs.find((i) => i.name === input.name);
        if (!spec) return reply.code(400).send({ error: `unexpected input '${input.name}'` });
        if (spec.datatype !== input.datatype) return reply.code(400).send({ error: `input '${input.name}' must be ${spec.datatype}` });
        feeds[input.name] = tensorOf(input);
      }
      const wanted = req.body.outputs?.map((o) => o.name) ?? found.metadata.outputs.map((o) => o.name);
      const results = await found.session.run(feeds, wanted);
      return reply.send({
        model_name: req.params.name,
        model_version: req.params.version,
        outputs: wanted.map((name) => {
          const t = results[name]!;
          const data = Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
          return { name, datatype: DATATYPE[t.type] ?? t.type, shape: [...t.dims], data };
        }),
      });
    } catch (err) {
      return reply.code(400).send({ error: (err as Error).message });
    }
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: address,
    inferCount,
    tamper: (fn) => void (tamper = fn),
    failInference: (status) => void (failStatus = status),
    close: async () => {
      await app.close();
      for (const { session } of sessions.values()) await session.release();
    },
  };
}
