import { Ajv, type ErrorObject } from 'ajv';
import { MODALITY_ORDER, type EvidenceRule, type ModelManifest } from '../../contracts/manifest-types.js';
import { err, ok, type Result } from '../../contracts/result.js';
import { findingOutputIssues, localisationOutputIssues, OUTPUT_ROLES } from './localisation-output.js';

/**
 * A draft-07 object schema that allows no other properties and requires every listed property
 * except those named `optional`: the shape of nearly every object in a manifest, so each states
 * its properties once instead of again in a `required` list.
 */
function closedObject<const P extends Record<string, object>>(
  properties: P,
  optional: ReadonlyArray<keyof P & string> = [],
) {
  const required = Object.keys(properties).filter((key) => !optional.includes(key));
  // draft-07 allows an empty `required`, but leaving it out keeps the schema as written by hand.
  return {
    type: 'object',
    additionalProperties: false,
    ...(required.length > 0 ? { required } : {}),
    properties,
  } as const;
}

const NON_EMPTY_STRING = { type: 'string', minLength: 1 } as const;
const POSITIVE_NUMBER = { type: 'number', exclusiveMinimum: 0 } as const;
const NUMBERS = { type: 'array', items: { type: 'number' } } as const;
const NON_EMPTY_STRINGS = { type: 'array', minItems: 1, items: NON_EMPTY_STRING } as const;
const DISTINCT_NON_EMPTY_STRINGS = { ...NON_EMPTY_STRINGS, uniqueItems: true } as const;
const SHA256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const LOOKBACK_HOURS = { $ref: '#/definitions/lookbackHours' } as const;
const WORDPIECE_SPECIAL_TOKENS = ['unknown', 'classification', 'separator', 'padding'];
/** Input roles: which preprocessed array feeds a tensor (the output roles are `OUTPUT_ROLES`). */
const INPUT_ROLES = [
  'tabular-values',
  'tabular-mask',
  'text-tokens',
  'text-attention-mask',
  'text-token-types',
  'image',
  'ecg-waveform',
  'ecg-image',
  'modality-mask',
] as const;

/**
 * JSON Schema (draft-07) for `models/<name>/<version>/manifest.json`, mirroring `ModelManifest` in
 * `manifest-types.ts`. Structural rules live here; rules that relate fields to each other (tensor
 * names unique, outcome indices inside the probabilities output, thresholds ascending) are checked
 * by {@link parseManifest} after the schema passes, with the same JSON-pointer error shape.
 */
export const MODEL_MANIFEST_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://fhir-fusion.dev/schemas/model-manifest.json',
  ...closedObject(
    {
      schemaVersion: { const: 1 },
      name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' },
      version: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
      title: NON_EMPTY_STRING,
      description: { type: 'string' },
      trainingData: closedObject({ synthetic: { type: 'boolean' }, description: NON_EMPTY_STRING }),
      files: {
        type: 'object',
        required: ['model.onnx'],
        properties: { 'model.onnx': SHA256 },
        propertyNames: { not: { const: 'manifest.json' } },
        additionalProperties: SHA256,
      },
      inputs: { type: 'array', minItems: 1, items: { $ref: '#/definitions/tensor' } },
      outputs: { type: 'array', minItems: 1, items: { $ref: '#/definitions/tensor' } },
      preprocessing: closedObject(
        {
          tabular: closedObject({
            lookbackHours: LOOKBACK_HOURS,
            features: { type: 'array', minItems: 1, items: { $ref: '#/definitions/feature' } },
          }),
          text: closedObject(
            {
              lookbackHours: LOOKBACK_HOURS,
              categories: { type: 'array', items: NON_EMPTY_STRING },
              tokenizer: NON_EMPTY_STRING,
              maxTokens: { type: 'integer', minimum: 1 },
              lowercase: { type: 'boolean' },
              negationPrefix: { type: 'string' },
              tokenizerType: { enum: ['word', 'wordpiece'] },
              wordpiece: closedObject(
                {
                  stripAccents: { type: 'boolean' },
                  continuationPrefix: { type: 'string' },
                  maxCharsPerWord: { type: 'integer', minimum: 1 },
                  specialTokens: closedObject(
                    Object.fromEntries(WORDPIECE_SPECIAL_TOKENS.map((k) => [k, NON_EMPTY_STRING])),
                    WORDPIECE_SPECIAL_TOKENS,
                  ),
                },
                ['stripAccents', 'continuationPrefix', 'maxCharsPerWord', 'specialTokens'],
              ),
            },
            ['negationPrefix', 'tokenizerType', 'wordpiece'],
          ),
          image: closedObject(
            {
              lookbackHours: LOOKBACK_HOURS,
              modalities: NON_EMPTY_STRINGS,
              bodyPart: { type: 'string' },
              bodyParts: { type: 'array', items: NON_EMPTY_STRING },
              viewPositions: { type: 'array', items: { type: 'string' } },
              allowMissingTags: {
                type: 'array',
                uniqueItems: true,
                items: { enum: ['Modality', 'BodyPartExamined', 'ViewPosition'] },
              },
              size: { $ref: '#/definitions/size' },
              mean: { type: 'number' },
              std: POSITIVE_NUMBER,
            },
            ['bodyParts', 'allowMissingTags'],
          ),
          ecg: closedObject(
            {
              lookbackHours: LOOKBACK_HOURS,
              sampleRateHz: POSITIVE_NUMBER,
              durationSeconds: POSITIVE_NUMBER,
              leads: NON_EMPTY_STRINGS,
              representation: { enum: ['waveform', 'image'] },
              imageSize: { $ref: '#/definitions/size' },
              inputContract: closedObject({
                requiredLeads: DISTINCT_NON_EMPTY_STRINGS,
                minDurationSeconds: POSITIVE_NUMBER,
                maxAbsMv: POSITIVE_NUMBER,
                minPeakToPeakMv: { type: 'number', minimum: 0 },
                maxSaturatedFraction: { type: 'number', minimum: 0, maximum: 1 },
              }),
            },
            ['imageSize', 'inputContract'],
          ),
        },
        ['tabular', 'text', 'image', 'ecg'],
      ),
      outcomes: {
        type: 'array',
        minItems: 1,
        items: closedObject(
          {
            index: { type: 'integer', minimum: 0 },
            coding: { $ref: '#/definitions/coding' },
            thresholds: {
              type: 'array',
              minItems: 1,
              items: closedObject({
                min: { type: 'number', minimum: 0, maximum: 1 },
                code: { enum: ['negligible', 'low', 'moderate', 'high', 'certain'] },
              }),
            },
            calibration: {
              oneOf: [
                closedObject({ method: { const: 'platt' }, a: { type: 'number' }, b: { type: 'number' } }),
                closedObject({ method: { const: 'none' } }),
              ],
            },
            requires: { $ref: '#/definitions/evidenceRule' },
          },
          ['calibration', 'requires'],
        ),
      },
      // Issue 20: what each channel of a `finding-map` output is.
      imageFindings: {
        type: 'array',
        minItems: 1,
        items: closedObject({
          index: { type: 'integer', minimum: 0 },
          coding: { $ref: '#/definitions/coding' },
          threshold: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        }),
      },
      abstention: closedObject({ minimumInformation: { $ref: '#/definitions/evidenceRule' } }),
      applicability: closedObject({
        requires: { type: 'array', uniqueItems: true, items: { $ref: '#/definitions/modality' } },
        toleratesMissing: { type: 'array', uniqueItems: true, items: { $ref: '#/definitions/modality' } },
      }),
      outOfDistribution: closedObject(
        {
          targetFalseAlarmRate: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
          calibration: NON_EMPTY_STRING,
          modalities: closedObject(
            Object.fromEntries(MODALITY_ORDER.map((m) => [m, { $ref: '#/definitions/oodDetector' }])),
            MODALITY_ORDER,
          ),
          evaluation: { type: 'object' },
        },
        ['evaluation'],
      ),
      // Free form, except the localisation evaluation the serving side gates maps on (issue #20).
      metrics: {
        type: 'object',
        properties: {
          localisation: closedObject({
            split: NON_EMPTY_STRING,
            lesions: {
              type: 'array',
              items: closedObject(
                {
                  lesion: NON_EMPTY_STRING,
                  finding: { $ref: '#/definitions/coding' },
                  outcome: NON_EMPTY_STRING,
                  images: { type: 'integer', minimum: 0 },
                  pointingGame: { $ref: '#/definitions/meanWithBounds' },
                  iou: { $ref: '#/definitions/meanWithBounds' },
                  priorPointingGame: { $ref: '#/definitions/meanWithBounds' },
                  presence: closedObject({
                    threshold: { $ref: '#/definitions/share' },
                    precision: { $ref: '#/definitions/meanWithBounds' },
                    recall: { $ref: '#/definitions/meanWithBounds' },
                  }),
                },
                ['outcome', 'presence'],
              ),
            },
          }),
        },
      },
    },
    ['abstention', 'outOfDistribution', 'metrics', 'imageFindings'],
  ),
  definitions: {
    modality: { enum: [...MODALITY_ORDER] },
    evidenceRule: closedObject({
      anyOf: {
        type: 'array',
        minItems: 1,
        items: {
          oneOf: [
            closedObject({ modality: { $ref: '#/definitions/modality' } }),
            closedObject({
              features: DISTINCT_NON_EMPTY_STRINGS,
              atLeast: { type: 'integer', minimum: 1 },
            }),
          ],
        },
      },
    }),
    dtype: { enum: ['float32', 'int64', 'int32', 'bool'] },
    tensor: closedObject({
      name: NON_EMPTY_STRING,
      dtype: { $ref: '#/definitions/dtype' },
      // Triton-style: -1 marks a dynamic axis; the first (batch) axis must be dynamic so the
      // dynamic batcher can concatenate patients along it.
      shape: {
        type: 'array',
        minItems: 1,
        items: [{ const: -1 }],
        additionalItems: { type: 'integer', minimum: -1, not: { const: 0 } },
      },
      role: { enum: [...INPUT_ROLES, ...OUTPUT_ROLES] },
    }),
    coding: closedObject({ system: NON_EMPTY_STRING, code: NON_EMPTY_STRING, display: NON_EMPTY_STRING }),
    share: { type: 'number', minimum: 0, maximum: 1 },
    // A bound is null when too few bootstrap resamples were defined (bootstrap.ts).
    meanWithBounds: closedObject({
      mean: { $ref: '#/definitions/share' },
      lower: { anyOf: [{ $ref: '#/definitions/share' }, { type: 'null' }] },
      upper: { anyOf: [{ $ref: '#/definitions/share' }, { type: 'null' }] },
    }),
    lookbackHours: POSITIVE_NUMBER,
    feature: closedObject(
      {
        name: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
        loinc: { type: 'array', items: { type: 'string', pattern: '^[0-9]+-[0-9]$' } },
        unit: NON_EMPTY_STRING,
        molecularWeight: POSITIVE_NUMBER,
        aggregate: { enum: ['last', 'min', 'max', 'mean', 'trend'] },
        plausible: closedObject({ min: { type: 'number' }, max: { type: 'number' } }),
        mean: { type: 'number' },
        std: POSITIVE_NUMBER,
        source: { enum: ['observation', 'age', 'sex'] },
      },
      ['molecularWeight', 'source'],
    ),
    size: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2, maxItems: 2 },
    oodDetector: closedObject(
      {
        method: { enum: ['tabular-range', 'summary-mahalanobis'] },
        low: NUMBERS,
        high: NUMBERS,
        statistics: DISTINCT_NON_EMPTY_STRINGS,
        center: NUMBERS,
        scale: { type: 'array', items: POSITIVE_NUMBER },
        precision: { type: 'array', items: NUMBERS },
        threshold: { type: 'number', minimum: 0 },
      },
      ['low', 'high', 'statistics', 'center', 'scale', 'precision'],
    ),
  },
} as const;

/** One problem found in a manifest: where (RFC 6901 JSON pointer) and what. */
export interface ManifestIssue {
  /** JSON pointer into the manifest, `''` for the document root (e.g. `/inputs/1/dtype`). */
  pointer: string;
  message: string;
}

/** Outcome of {@link parseManifest}: the typed manifest, or every problem found. */
export type ManifestParseResult = Result<ModelManifest, { issues: ManifestIssue[] }>;

/** A compiled manifest validator; compile once (ajv code generation is not free) and reuse. */
export type ManifestValidator = (json: unknown) => ManifestParseResult;

/** Compiles {@link MODEL_MANIFEST_SCHEMA} into a validator. */
export function createManifestValidator(): ManifestValidator {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTuples: false });
  const validate = ajv.compile<ModelManifest>(MODEL_MANIFEST_SCHEMA);
  return (json: unknown): ManifestParseResult => {
    if (!validate(json)) return err({ issues: (validate.errors ?? []).map(toIssue) });
    const issues = crossFieldIssues(json);
    return issues.length > 0 ? err({ issues }) : ok(json);
  };
}

/**
 * Parses a manifest (already JSON-decoded) into a typed `ModelManifest`, or returns every problem
 * with the JSON pointer of the offending element. Compiles the schema on each call; hold a
 * {@link createManifestValidator} result when parsing many.
 */
export function parseManifest(json: unknown): ManifestParseResult {
  return createManifestValidator()(json);
}

function toIssue(error: ErrorObject): ManifestIssue {
  // ajv reports a missing property at its parent; point at the property itself so the message
  // names the exact element to add.
  if (error.keyword === 'required') {
    const missing = String((error.params as { missingProperty?: string }).missingProperty ?? '');
    return { pointer: `${error.instancePath}/${escapePointer(missing)}`, message: 'is required' };
  }
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty?: string }).additionalProperty ?? '');
    return {
      pointer: `${error.instancePath}/${escapePointer(extra)}`,
      message: 'is not an allowed property',
    };
  }
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    return {
      pointer: error.instancePath,
      message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`,
    };
  }
  return { pointer: error.instancePath, message: error.message ?? error.keyword };
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Rules JSON Schema cannot express: uniqueness of names and references between sections. */
function crossFieldIssues(manifest: ModelManifest): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const seen = new Map<string, string>();
  for (const [section, tensors] of [
    ['inputs', manifest.inputs],
    ['outputs', manifest.outputs],
  ] as const) {
    tensors.forEach((tensor, i) => {
      const pointer = `/${section}/${i}/name`;
      const previous = seen.get(tensor.name);
      if (previous)
        issues.push({ pointer, message: `duplicates tensor name '${tensor.name}' at ${previous}` });
      else seen.set(tensor.name, pointer);
    });
  }
  manifest.inputs.forEach((t, i) => {
    if (OUTPUT_ROLES.has(t.role)) {
      issues.push({ pointer: `/inputs/${i}/role`, message: `'${t.role}' is an output role` });
    }
  });
  manifest.outputs.forEach((t, i) => {
    if (!OUTPUT_ROLES.has(t.role)) {
      issues.push({ pointer: `/outputs/${i}/role`, message: `'${t.role}' is an input role` });
    }
  });
  issues.push(...localisationOutputIssues(manifest), ...findingOutputIssues(manifest));
  const probIndex = manifest.outputs.findIndex((t) => t.role === 'probabilities');
  const probabilities = manifest.outputs[probIndex];
  if (!probabilities) {
    issues.push({ pointer: '/outputs', message: "needs one output with role 'probabilities'" });
  } else if (probabilities.shape.length !== 2) {
    issues.push({
      pointer: `/outputs/${probIndex}/shape`,
      message: 'probabilities must be [batch, outcomes]',
    });
  }
  const outcomeCount = probabilities?.shape[1] ?? -1;
  const indices = new Set<number>();
  manifest.outcomes.forEach((outcome, i) => {
    if (outcomeCount > 0 && outcome.index >= outcomeCount) {
      issues.push({
        pointer: `/outcomes/${i}/index`,
        message: `${outcome.index} is outside the probabilities output (${outcomeCount} outcomes)`,
      });
    }
    if (indices.has(outcome.index))
      issues.push({ pointer: `/outcomes/${i}/index`, message: `duplicates outcome index ${outcome.index}` });
    indices.add(outcome.index);
    outcome.thresholds.forEach((band, j) => {
      const prev = outcome.thresholds[j - 1];
      if (prev && band.min <= prev.min) {
        issues.push({
          pointer: `/outcomes/${i}/thresholds/${j}/min`,
          message: 'thresholds must be in ascending order of min',
        });
      }
    });
    if (outcome.thresholds[0] && outcome.thresholds[0].min !== 0) {
      issues.push({
        pointer: `/outcomes/${i}/thresholds/0/min`,
        message: 'the lowest band must start at 0 so every probability has a band',
      });
    }
  });
  const tabularRoles = manifest.inputs.filter(
    (t) => t.role === 'tabular-values' || t.role === 'tabular-mask',
  );
  const features = manifest.preprocessing.tabular?.features;
  tabularRoles.forEach((t) => {
    const i = manifest.inputs.indexOf(t);
    if (!features) {
      issues.push({ pointer: `/inputs/${i}/role`, message: `'${t.role}' needs /preprocessing/tabular` });
    } else if (t.shape.length !== 2 || t.shape[1] !== features.length) {
      issues.push({
        pointer: `/inputs/${i}/shape`,
        message: `must be [-1, ${features.length}] to match /preprocessing/tabular/features`,
      });
    }
  });
  manifest.inputs.forEach((t, i) => {
    if (t.role === 'modality-mask' && (t.shape.length !== 2 || t.shape[1] !== MODALITY_ORDER.length)) {
      issues.push({
        pointer: `/inputs/${i}/shape`,
        message: `modality-mask must be [-1, ${MODALITY_ORDER.length}] (order ${MODALITY_ORDER.join(', ')})`,
      });
    }
  });
  const rules: Array<[string, EvidenceRule | undefined]> = [
    ['/abstention/minimumInformation', manifest.abstention?.minimumInformation],
    ...manifest.outcomes.map((o, i): [string, EvidenceRule | undefined] => [
      `/outcomes/${i}/requires`,
      o.requires,
    ]),
  ];
  const featureNames = new Set((manifest.preprocessing.tabular?.features ?? []).map((f) => f.name));
  const modalities = new Set(Object.keys(manifest.preprocessing));
  for (const [pointer, rule] of rules) {
    rule?.anyOf.forEach((evidence, j) => {
      // A rule naming a modality or feature the model never sees could never be met (or would be
      // met by a typo never): refuse the manifest rather than abstain forever.
      if ('modality' in evidence) {
        if (!modalities.has(evidence.modality)) {
          issues.push({
            pointer: `${pointer}/anyOf/${j}/modality`,
            message: `'${evidence.modality}' is not a modality this model preprocesses`,
          });
        }
        return;
      }
      evidence.features.forEach((name, k) => {
        if (!featureNames.has(name)) {
          issues.push({
            pointer: `${pointer}/anyOf/${j}/features/${k}`,
            message: `'${name}' is not a tabular feature of this model`,
          });
        }
      });
      if (evidence.atLeast > evidence.features.length) {
        issues.push({
          pointer: `${pointer}/anyOf/${j}/atLeast`,
          message: `exceeds the ${evidence.features.length} feature(s) listed`,
        });
      }
    });
  }
  issues.push(...oodIssues(manifest, modalities), ...textIssues(manifest));
  manifest.preprocessing.tabular?.features.forEach((f, i) => {
    if (f.plausible.min > f.plausible.max) {
      issues.push({
        pointer: `/preprocessing/tabular/features/${i}/plausible`,
        message: 'min is greater than max',
      });
    }
  });
  return issues;
}

/**
 * An out-of-distribution detector must belong to a modality the model preprocesses, and a
 * Mahalanobis detector's vectors must agree in length (a detector that cannot be evaluated would
 * otherwise be discovered only on the first patient).
 */
function oodIssues(manifest: ModelManifest, modalities: ReadonlySet<string>): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  for (const [modality, detector] of Object.entries(manifest.outOfDistribution?.modalities ?? {})) {
    const pointer = `/outOfDistribution/modalities/${modality}`;
    if (!modalities.has(modality))
      issues.push({ pointer, message: `'${modality}' is not a modality this model preprocesses` });
    if (!detector) continue;
    if (detector.method === 'tabular-range') {
      if (modality !== 'tabular')
        issues.push({
          pointer: `${pointer}/method`,
          message: "'tabular-range' applies to the tabular modality only",
        });
      const features = manifest.preprocessing.tabular?.features.length ?? 0;
      for (const key of ['low', 'high'] as const) {
        if (detector[key]?.length !== features)
          issues.push({
            pointer: `${pointer}/${key}`,
            message: `must have ${features} entries, one per tabular feature`,
          });
      }
      continue;
    }
    const n = detector.statistics?.length ?? 0;
    if (n === 0)
      issues.push({ pointer: `${pointer}/statistics`, message: 'is required for summary-mahalanobis' });
    for (const key of ['center', 'scale'] as const) {
      if (detector[key]?.length !== n)
        issues.push({ pointer: `${pointer}/${key}`, message: `must have ${n} entries, one per statistic` });
    }
    const precision = detector.precision;
    if (precision?.length !== n || precision.some((row) => row.length !== n)) {
      issues.push({ pointer: `${pointer}/precision`, message: `must be ${n} × ${n}` });
    }
  }
  return issues;
}

const TEXT_ROLES: ReadonlySet<string> = new Set(['text-tokens', 'text-attention-mask', 'text-token-types']);

/**
 * Text inputs are int64 `[-1, maxTokens]` rows the preprocessing fills (fixed-length padding, so
 * rows batch together); a WordPiece tokenizer needs its `vocab.txt` hashed in `files` and room for
 * `[CLS]` and `[SEP]`. The text out-of-distribution statistics count the word vocabulary's pad (0)
 * and unknown (1) ids, so they are refused for a WordPiece model rather than computed wrongly.
 */
function textIssues(manifest: ModelManifest): ManifestIssue[] {
  const issues: ManifestIssue[] = [];
  const text = manifest.preprocessing.text;
  manifest.inputs.forEach((t, i) => {
    if (!TEXT_ROLES.has(t.role)) return;
    if (!text) {
      issues.push({ pointer: `/inputs/${i}/role`, message: `'${t.role}' needs /preprocessing/text` });
      return;
    }
    if (t.dtype !== 'int64')
      issues.push({ pointer: `/inputs/${i}/dtype`, message: `'${t.role}' must be int64` });
    if (t.shape.length !== 2 || (t.shape[1] !== -1 && t.shape[1] !== text.maxTokens)) {
      issues.push({
        pointer: `/inputs/${i}/shape`,
        message: `must be [-1, ${text.maxTokens}] (or [-1, -1]) to match /preprocessing/text/maxTokens`,
      });
    }
  });
  if (!text) return issues;
  const wordpiece = text.tokenizerType === 'wordpiece';
  if (!wordpiece && text.wordpiece) {
    issues.push({
      pointer: '/preprocessing/text/wordpiece',
      message: "applies only with tokenizerType 'wordpiece'",
    });
  }
  if (wordpiece) {
    if (!(text.tokenizer in manifest.files)) {
      issues.push({
        pointer: '/preprocessing/text/tokenizer',
        message: `'${text.tokenizer}' must be listed with its sha256 in /files`,
      });
    }
    if (text.maxTokens < 3)
      issues.push({
        pointer: '/preprocessing/text/maxTokens',
        message: 'must leave room for [CLS], a token and [SEP] (at least 3)',
      });
    if (text.negationPrefix !== undefined) {
      issues.push({
        pointer: '/preprocessing/text/negationPrefix',
        message: 'applies only to the word tokenizer',
      });
    }
    if (manifest.outOfDistribution?.modalities.text) {
      issues.push({
        pointer: '/outOfDistribution/modalities/text',
        message: 'text statistics are defined for the word tokenizer only',
      });
    }
  }
  return issues;
}
