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
 * `models/<name>/<version>/embedding-manifest.json`: a CLIP-style dual encoder (ECG, as waveform or
 * rendered image, and report text) projecting into one embedding space. It follows `ModelManifest` (name, version, training
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
        ecg: {
          type: 'object',
          required: ['sampleRateHz', 'durationSeconds', 'leads', 'representation'],
          properties: { representation: { enum: ['waveform', 'image'] } },
        },
        text: { type: 'object', required: ['tokenizer', 'maxTokens', 'lowercase'] },
      },
    },
  },
} as const;

/**
 * The ECG encoder's input must be what the preprocessing produces for the manifest's
 * `representation`: the waveform `[-1, leads, samples]` (`toModelEcg`), or the 12-lead rendering
 * `[-1, 1, H, W]` at `imageSize` (`renderEcgImage`, the ECG-as-image encoders of issue 20).
 */
function ecgInputProblems(manifest: EmbeddingModelManifest): string[] {
  const ecgIn = manifest.encoders.ecg.inputs[0];
  const ecg = manifest.preprocessing.ecg;
  const same = (want: number[]) => ecgIn?.shape.length === want.length && want.every((d, i) => ecgIn.shape[i] === d);
  if (ecg.representation === 'image') {
    const [h, w] = ecg.imageSize ?? [];
    if (!h || !w) return ['/preprocessing/ecg/imageSize: required when representation is image'];
    return ecgIn?.role === 'ecg-image' && ecgIn.dtype === 'float32' && same([-1, 1, h, w])
      ? []
      : [`/encoders/ecg/inputs/0: must be float32 ecg-image [-1, 1, ${h}, ${w}]`];
  }
  const samples = ecg.sampleRateHz * ecg.durationSeconds;
  return ecgIn?.role === 'ecg-waveform' && same([-1, ecg.leads.length, samples])
    ? []
    : [`/encoders/ecg/inputs/0: must be ecg-waveform [-1, ${ecg.leads.length}, ${samples}]`];
}

/** Result of {@link parseEmbeddingManifest}: the manifest, or every problem as `pointer: message`. */
export type EmbeddingManifestResult = Result<EmbeddingModelManifest, { problems: string[] }>;

/**
 * Validates an embedding manifest: structure, then the semantic rules the server relies on
 * (each encoder's output has role `embedding` and width `embedding.dimension`; the ECG input is
 * the waveform or the rendered image the preprocessing produces, the text input is token ids of
 * `maxTokens`).
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
  problems.push(...ecgInputProblems(manifest));
  const textIn = manifest.encoders.text.inputs[0];
  if (textIn?.role !== 'text-tokens' || textIn.dtype !== 'int64' || textIn.shape[1] !== manifest.preprocessing.text.maxTokens)
    problems.push(`/encoders/text/inputs/0: must be int64 text-tokens [-1, ${manifest.preprocessing.text.maxTokens}]`);
  return problems.length ? err({ problems }) : ok(manifest);
}
