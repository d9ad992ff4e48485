import { Ajv, type JSONSchemaType } from 'ajv';
import type { ModalityPreprocessing, ModelManifestHeader, TensorSpec } from '../../contracts/manifest-types.js';
import { err, ok, type Result } from '../../contracts/result.js';
import { MODEL_MANIFEST_SCHEMA } from './manifest-schema.js';

/** One encoder graph of a dual-encoder embedding model. */
export interface EncoderSpec {
  /** ONNX file in the version folder. */
  file: string;
  inputs: TensorSpec[];
  /** Exactly one output, role `embedding`, shape [-1, dimension]. */
  outputs: TensorSpec[];
}

/**
 * `models/<name>/<version>/embedding-manifest.json`: a CLIP-style dual encoder (ECG and report
 * text) projecting into one embedding space. It follows `ModelManifest` (name, version, training
 * data, sha256 of every file, tensor specs with roles, preprocessing, metrics) but has no
 * probabilities output and no outcomes, so it is deliberately not named `manifest.json`: the
 * risk-model registry serves every `manifest.json` for every patient and requires probabilities.
 */
export interface EmbeddingModelManifest extends ModelManifestHeader {
  embedding: { dimension: number; normalisation: 'l2'; metric: 'cosine' };
  encoders: { ecg: EncoderSpec; text: EncoderSpec };
  preprocessing: Required<Pick<ModalityPreprocessing, 'ecg' | 'text'>>;
  metrics?: Record<string, unknown>;
}

/**
 * Tensor specs follow the risk-model manifest's definition (dtype, role and a dynamic batch axis),
 * so one contract describes every graph the inference runtime serves.
 */
const { dtype, tensor } = MODEL_MANIFEST_SCHEMA.definitions;

const encoder = {
  type: 'object',
  required: ['file', 'inputs', 'outputs'],
  properties: {
    file: { type: 'string', pattern: '^[A-Za-z0-9._-]+\\.onnx$' },
    inputs: { type: 'array', minItems: 1, maxItems: 1, items: { $ref: '#/definitions/tensor' } },
    outputs: { type: 'array', minItems: 1, maxItems: 1, items: { $ref: '#/definitions/tensor' } },
  },
} as const;

// A structural schema; Ajv's JSONSchemaType cannot express the nested preprocessing types, so
// the object is typed after validation.
const schema = {
  type: 'object',
  required: ['schemaVersion', 'name', 'version', 'title', 'description', 'trainingData', 'files', 'embedding', 'encoders', 'preprocessing'],
  definitions: { dtype, tensor },
  properties: {
    schemaVersion: { const: 1 },
    name: { type: 'string', minLength: 1 },
    version: { type: 'string', minLength: 1 },
    files: { type: 'object', additionalProperties: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
    embedding: {
      type: 'object',
      required: ['dimension', 'normalisation', 'metric'],
      properties: {
        dimension: { type: 'integer', minimum: 1 },
        normalisation: { const: 'l2' },
        metric: { const: 'cosine' },
      },
    },
    encoders: { type: 'object', required: ['ecg', 'text'], properties: { ecg: encoder, text: encoder } },
    preprocessing: {
      type: 'object',
      required: ['ecg', 'text'],
      properties: {
        ecg: { type: 'object', required: ['sampleRateHz', 'durationSeconds', 'leads', 'representation'] },
        text: { type: 'object', required: ['tokenizer', 'maxTokens', 'lowercase'] },
      },
    },
  },
} as const;

/** Result of {@link parseEmbeddingManifest}: the manifest, or every problem as `pointer: message`. */
export type EmbeddingManifestResult = Result<EmbeddingModelManifest, { problems: string[] }>;

/**
 * Validates an embedding manifest: structure, then the semantic rules the server relies on
 * (each encoder's output has role `embedding` and width `embedding.dimension`; the ECG input is
 * the waveform the preprocessing produces, the text input is token ids of `maxTokens`).
 */
export function parseEmbeddingManifest(json: unknown): EmbeddingManifestResult {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema as unknown as JSONSchemaType<unknown>);
  if (!validate(json)) {
    return err({ problems: (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`) });
  }
  const manifest = json as EmbeddingModelManifest;
  const problems: string[] = [];
  const dim = manifest.embedding.dimension;
  for (const key of ['ecg', 'text'] as const) {
    const out = manifest.encoders[key].outputs[0];
    if (out?.role !== 'embedding') problems.push(`/encoders/${key}/outputs/0/role: must be 'embedding'`);
    if (out?.dtype !== 'float32' || out.shape.length !== 2 || out.shape[1] !== dim)
      problems.push(`/encoders/${key}/outputs/0/shape: must be float32 [-1, ${dim}]`);
    if (!(manifest.encoders[key].file in manifest.files)) problems.push(`/files: has no sha256 for ${manifest.encoders[key].file}`);
  }
  const ecgIn = manifest.encoders.ecg.inputs[0];
  const ecg = manifest.preprocessing.ecg;
  if (ecgIn?.role !== 'ecg-waveform' || ecgIn.shape[1] !== ecg.leads.length || ecgIn.shape[2] !== ecg.sampleRateHz * ecg.durationSeconds)
    problems.push(`/encoders/ecg/inputs/0: must be ecg-waveform [-1, ${ecg.leads.length}, ${ecg.sampleRateHz * ecg.durationSeconds}]`);
  const textIn = manifest.encoders.text.inputs[0];
  if (textIn?.role !== 'text-tokens' || textIn.dtype !== 'int64' || textIn.shape[1] !== manifest.preprocessing.text.maxTokens)
    problems.push(`/encoders/text/inputs/0: must be int64 text-tokens [-1, ${manifest.preprocessing.text.maxTokens}]`);
  return problems.length ? err({ problems }) : ok(manifest);
}
