import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../../src/inference/manifest/manifest-schema.js';
import { testModelsDir } from '../../../fixtures/models/model-fixtures.js';

const load = (model: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(testModelsDir, model, '1.0.0', 'manifest.json'), 'utf8')) as Record<
    string,
    unknown
  >;

describe('parseManifest', () => {
  it('accepts both test manifests and returns them typed', () => {
    for (const model of ['tiny-logistic', 'tiny-fusion']) {
      const result = parseManifest(load(model));
      expect(result.ok, JSON.stringify(result)).toBe(true);
      if (result.ok) expect(result.value.name).toBe(model);
    }
  });

  it('names the JSON pointer of a missing required property', () => {
    const manifest = load('tiny-logistic');
    delete manifest.outcomes;
    const result = parseManifest(manifest);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues).toContainEqual({ pointer: '/outcomes', message: 'is required' });
  });

  it('names the pointer of a bad dtype deep in the inputs', () => {
    const manifest = load('tiny-fusion') as { inputs: Array<{ dtype: string }> };
    manifest.inputs[2]!.dtype = 'float16';
    const result = parseManifest(manifest);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.pointer)).toContain('/inputs/2/dtype');
  });

  it('refuses a static batch axis, since the batcher concatenates along axis 0', () => {
    const manifest = load('tiny-logistic') as { inputs: Array<{ shape: number[] }> };
    manifest.inputs[0]!.shape = [1, 4];
    const result = parseManifest(manifest);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.pointer)).toContain('/inputs/0/shape/0');
  });

  it('reports every problem at once, including cross-field rules', () => {
    const manifest = load('tiny-fusion') as {
      outcomes: Array<{ index: number; thresholds: Array<{ min: number }> }>;
      outputs: Array<{ name: string }>;
      files: Record<string, string>;
    };
    manifest.outcomes[1]!.index = 5;
    manifest.outcomes[0]!.thresholds[2]!.min = 0.01;
    manifest.outputs[1]!.name = 'probabilities';
    manifest.files['model.onnx'] = 'not-a-hash';
    const result = parseManifest(manifest);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // Schema errors stop before cross-field checks; fix the hash and look at the rest.
    expect(result.issues.map((i) => i.pointer)).toContain('/files/model.onnx');
    manifest.files['model.onnx'] = 'a'.repeat(64);
    const second = parseManifest(manifest);
    expect(second.ok).toBe(false);
    if (second.ok) return;
    const pointers = second.issues.map((i) => i.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining(['/outcomes/1/index', '/outcomes/0/thresholds/2/min', '/outputs/1/name']),
    );
  });

  it('refuses tabular inputs whose width differs from the feature list', () => {
    const manifest = load('tiny-logistic') as { inputs: Array<{ shape: number[] }> };
    manifest.inputs[1]!.shape = [-1, 5];
    const result = parseManifest(manifest);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues).toContainEqual(expect.objectContaining({ pointer: '/inputs/1/shape' }));
  });

  it('refuses an unknown property with its pointer', () => {
    const manifest = load('tiny-logistic');
    manifest.extra = true;
    const result = parseManifest(manifest);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues).toContainEqual({ pointer: '/extra', message: 'is not an allowed property' });
  });

  it('keeps metrics free form but checks the localisation evaluation serving gates on (issue 20)', () => {
    const share = (mean: number, lower: number | null, upper: number | null) => ({ mean, lower, upper });
    const lesion = {
      lesion: 'cardiomegaly',
      finding: { system: 'http://snomed.info/sct', code: '8186001', display: 'Cardiomegaly' },
      outcome: '56675007',
      images: 334,
      pointingGame: share(0.19, 0.15, 0.23),
      iou: share(0.15, null, null),
      priorPointingGame: share(1, 1, 1),
    };
    const withMetrics = (metrics: unknown) => parseManifest({ ...load('tiny-logistic'), metrics });
    expect(withMetrics({ anything: 1, localisation: { split: 'test', lesions: [lesion] } }).ok).toBe(true);
    const bad = withMetrics({
      localisation: {
        split: 'test',
        lesions: [{ ...lesion, pointingGame: share(0.19, 1.5, 0.23), priorPointingGame: undefined }],
      },
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.issues.map((i) => i.pointer)).toEqual(
        expect.arrayContaining([
          '/metrics/localisation/lesions/0/pointingGame/lower',
          '/metrics/localisation/lesions/0/priorPointingGame',
        ]),
      );
  });
});
