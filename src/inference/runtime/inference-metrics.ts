import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Prometheus metrics of the registry and the engine; create once per process and pass in. */
export interface InferenceMetrics {
  /** 1 per active model version, labelled with the execution provider actually serving it. */
  modelInfo: Gauge<'model' | 'version' | 'execution_provider'>;
  /** Rows per batched run (requests plus their explanation variants). */
  batchRows: Histogram<'model'>;
  /** Patients (requests) per batched run: > 1 means dynamic batching is gathering work. */
  batchRequests: Histogram<'model'>;
  /** Seconds one batched `session.run` took in its worker, including transfer. */
  batchSeconds: Histogram<'model'>;
  /** Seconds from `infer()` to the answer. */
  requestSeconds: Histogram<'model'>;
  /** Requests waiting for a batch. */
  queueDepth: Gauge;
  /** Requests refused because the queue was full (backpressure). */
  queueRejections: Counter<'model'>;
}

/** Registers the inference metrics on `registry` (prom-client), with the `fhir_fusion_` prefix. */
export function createInferenceMetrics(registry: Registry): InferenceMetrics {
  const registers = [registry];
  return {
    modelInfo: new Gauge({
      name: 'fhir_fusion_model_info',
      help: 'Active model versions and the ONNX Runtime execution provider serving each',
      labelNames: ['model', 'version', 'execution_provider'],
      registers,
    }),
    batchRows: new Histogram({
      name: 'fhir_fusion_inference_batch_rows',
      help: 'Rows per batched ONNX Runtime run',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    batchRequests: new Histogram({
      name: 'fhir_fusion_inference_batch_requests',
      help: 'Patients per batched ONNX Runtime run',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'fhir_fusion_inference_batch_seconds',
      help: 'Duration of one batched run in a worker thread',
      labelNames: ['model'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    requestSeconds: new Histogram({
      name: 'fhir_fusion_inference_request_seconds',
      help: 'Duration from infer() to the answer, queueing included',
      labelNames: ['model'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'fhir_fusion_inference_queue_depth',
      help: 'Requests waiting for a batch',
      registers,
    }),
    queueRejections: new Counter({
      name: 'fhir_fusion_inference_queue_rejections_total',
      help: 'Requests refused because the inference queue was full',
      labelNames: ['model'],
      registers,
    }),
  };
}
