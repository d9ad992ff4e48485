import { Ajv, type JSONSchemaType } from 'ajv';
import type { ModalityPreprocessing, ModelManifestHeader } from '../../contracts/manifest-types.js';
import { err, ok, type Result } from '../../contracts/result.js';
import type { GraphTensorSpec } from './golden-check.js';

/** One graph of the drafting model: its ONNX file and tensors (name, dtype, shape; batch axis -1). */
export interface DraftGraphSpec {
  file: string;
  inputs: GraphTensorSpec[];
  outputs: GraphTensorSpec[];
}

/**
 * `models/<name>/<version>/draft-manifest.json`: an image → text description drafter (issue 20),
 * exported as an image encoder and one decoder step so the server drives decoding. Like the
 * embedding model it follows the `ModelManifest` header (name, version, synthetic training data,
 * sha256 of every file) but is deliberately not `manifest.json`: the risk-model registry serves
 * every `manifest.json` for every patient and requires probabilities.
 *
 * Tensor names are fixed, since the decoder loop feeds them: encoder `image` → `image_features`,
 * `initial_h`, `initial_c`; decoder `previous_token`, `state_h`, `state_c`, `image_features` →
 * `logits`, `next_h`, `next_c` (and optionally `attention`).
 */
export interface DraftModelManifest extends ModelManifestHeader {
  graphs: { encoder: DraftGraphSpec; decoder: DraftGraphSpec };
  /** File in the version folder: `{"tokens": [...]}`, the id of a word is its index. */
  vocabulary: string;
  decoding: {
    bosId: number;
    eosId: number;
    padId: number;
    unknownId: number;
    /** Hard cap on generated tokens; decoding stops there and the draft is `truncated`. */
    maxTokens: number;
    /** Hard cap on the draft's characters; the text is cut at a word boundary and `truncated`. */
    maxCharacters: number;
    beamSize: number;
    /** Whether the graphs read report-context tokens (the reference model does not). */
    usesContextTokens: boolean;
  };
  preprocessing: Required<Pick<ModalityPreprocessing, 'image'>>;
  metrics?: Record<string, unknown>;
}

const tensor = {
  type: 'object',
  required: ['name', 'dtype', 'shape'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    dtype: { enum: ['float32', 'int64', 'int32', 'uint8', 'bool', 'float64'] },
    shape: { type: 'array', minItems: 1, items: { type: 'integer', minimum: -1 } },
  },
} as const;

const graph = {
  type: 'object',
  required: ['file', 'inputs', 'outputs'],
  properties: {
    file: { type: 'string', pattern: '^[A-Za-z0-9._-]+\\.onnx$' },
    inputs: { type: 'array', minItems: 1, items: tensor },
    outputs: { type: 'array', minItems: 1, items: tensor },
  },
} as const;

const id = { type: 'integer', minimum: 0 } as const;

// Structural schema; the object is typed after validation (see embedding-manifest.ts for why).
const schema = {
  type: 'object',
  required: [
    'schemaVersion',
    'name',
    'version',
    'title',
    'description',
    'trainingData',
    'files',
    'graphs',
    'vocabulary',
    'decoding',
    'preprocessing',
  ],
  properties: {
    schemaVersion: { const: 1 },
    name: { type: 'string', minLength: 1 },
    version: { type: 'string', minLength: 1 },
    trainingData: {
      type: 'object',
      required: ['synthetic', 'description'],
      properties: { synthetic: { type: 'boolean' }, description: { type: 'string' } },
    },
    files: { type: 'object', additionalProperties: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
    graphs: {
      type: 'object',
      required: ['encoder', 'decoder'],
      properties: { encoder: graph, decoder: graph },
    },
    vocabulary: { type: 'string', pattern: '^[A-Za-z0-9._-]+\\.json$' },
    decoding: {
      type: 'object',
      required: [
        'bosId',
        'eosId',
        'padId',
        'unknownId',
        'maxTokens',
        'maxCharacters',
        'beamSize',
        'usesContextTokens',
      ],
      properties: {
        bosId: id,
        eosId: id,
        padId: id,
        unknownId: id,
        maxTokens: { type: 'integer', minimum: 1, maximum: 512 },
        maxCharacters: { type: 'integer', minimum: 1, maximum: 4000 },
        beamSize: { type: 'integer', minimum: 1, maximum: 3 },
        usesContextTokens: { type: 'boolean' },
      },
    },
    preprocessing: {
      type: 'object',
      required: ['image'],
      properties: { image: { type: 'object', required: ['size', 'mean', 'std'] } },
    },
  },
} as const;

/** The tensor names the decoding loop feeds and reads, per graph. */
const REQUIRED_TENSORS = {
  encoder: { inputs: ['image'], outputs: ['image_features', 'initial_h', 'initial_c'] },
  decoder: {
    inputs: ['previous_token', 'state_h', 'state_c', 'image_features'],
    outputs: ['logits', 'next_h', 'next_c'],
  },
} as const;

/** Result of {@link parseDraftManifest}: the manifest, or every problem as `pointer: message`. */
export type DraftManifestResult = Result<DraftModelManifest, { problems: string[] }>;

/**
 * Validates a drafting manifest: structure, then the rules the decoding loop relies on (the fixed
 * tensor names, the image input `[-1, 1, H, W]` matching `preprocessing.image.size`, every graph
 * and the vocabulary pinned by a sha256, a batch axis of -1 everywhere).
 */
export function parseDraftManifest(json: unknown): DraftManifestResult {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema as unknown as JSONSchemaType<unknown>);
  if (!validate(json)) {
    return err({
      problems: (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`),
    });
  }
  const manifest = json as DraftModelManifest;
  const problems: string[] = [];
  for (const key of ['encoder', 'decoder'] as const) {
    const g = manifest.graphs[key];
    for (const side of ['inputs', 'outputs'] as const) {
      for (const name of REQUIRED_TENSORS[key][side])
        if (!g[side].some((t) => t.name === name))
          problems.push(`/graphs/${key}/${side}: needs a tensor named '${name}'`);
      g[side].forEach((t, i) => {
        if (t.shape[0] !== -1)
          problems.push(`/graphs/${key}/${side}/${i}/shape/0: the batch axis must be -1`);
      });
    }
    if (!(g.file in manifest.files)) problems.push(`/files: has no sha256 for ${g.file}`);
  }
  if (!(manifest.vocabulary in manifest.files))
    problems.push(`/files: has no sha256 for ${manifest.vocabulary}`);
  const image = manifest.graphs.encoder.inputs.find((t) => t.name === 'image');
  const [h, w] = manifest.preprocessing.image.size;
  if (
    image &&
    (image.dtype !== 'float32' ||
      image.shape.length !== 4 ||
      image.shape[1] !== 1 ||
      image.shape[2] !== h ||
      image.shape[3] !== w)
  )
    problems.push(
      `/graphs/encoder/inputs: 'image' must be float32 [-1, 1, ${h}, ${w}] (preprocessing.image.size)`,
    );
  const token = manifest.graphs.decoder.inputs.find((t) => t.name === 'previous_token');
  if (token && (token.dtype !== 'int64' || token.shape.length !== 1))
    problems.push(`/graphs/decoder/inputs: 'previous_token' must be int64 [-1]`);
  return problems.length ? err({ problems }) : ok(manifest);
}
