import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelManifest, TensorSpec } from '../../../../src/contracts/manifest-types.js';
import {
  faithfulnessViolation,
  localisationOutput,
} from '../../../../src/inference/manifest/localisation-output.js';
import { parseManifest } from '../../../../src/inference/manifest/manifest-schema.js';
import { repoRoot } from '../../../helpers/fixtures.js';

/** The shipped image model's manifest, which declares a localisation map and its offset (issue 20). */
const imageCnn = (): ModelManifest =>
  JSON.parse(
    readFileSync(join(repoRoot, 'models', 'image-cnn', '1', 'manifest.json'), 'utf8'),
  ) as ModelManifest;

const pointers = (manifest: ModelManifest): string[] => {
  const result = parseManifest(manifest);
  return result.ok ? [] : result.issues.map((i) => `${i.pointer}: ${i.message}`);
};

describe('localisation outputs in the manifest', () => {
  it('accepts image-cnn with its map [-1, 3, 4, 4] and offset [-1, 3]', () => {
    const manifest = imageCnn();
    expect(pointers(manifest)).toEqual([]);
    expect(localisationOutput(manifest)).toMatchObject({ name: 'localisation_map', shape: [-1, 3, 4, 4] });
  });

  it('refuses a map whose channels are not the outcomes, or without a fixed grid', () => {
    const manifest = imageCnn();
    const map = manifest.outputs.find((o) => o.role === 'localisation') as TensorSpec;
    map.shape = [-1, 2, 4, 4];
    expect(pointers(manifest)).toEqual([
      expect.stringMatching(/^\/outputs\/1\/shape: localisation must be \[-1, 3, h, w\]/),
    ]);
    map.shape = [-1, 3, -1, 4];
    expect(pointers(manifest)).toEqual([expect.stringMatching(/^\/outputs\/1\/shape:/)]);
  });

  it('refuses a map on a model without an image input, an offset without a map, and an input with an output role', () => {
    const manifest = imageCnn();
    manifest.inputs[0]!.role = 'ecg-image';
    expect(pointers(manifest)).toContain(
      "/outputs/1/role: a localisation map needs an input with role 'image'",
    );
    const noMap = imageCnn();
    noMap.outputs = noMap.outputs.filter((o) => o.role !== 'localisation');
    expect(pointers(noMap)).toContain(
      "/outputs: a 'localisation-offset' output needs a 'localisation' output",
    );
    const asInput = imageCnn();
    asInput.inputs[0]!.role = 'localisation';
    expect(pointers(asInput)).toContain("/inputs/0/role: 'localisation' is an output role");
  });

  it('detects a map whose mean plus offset is not the logit', () => {
    const outputs = imageCnn().outputs;
    const p = 0.8;
    const logit = Math.log(p / (1 - p));
    // One row, outcome 0 faithful (mean 1 + offset logit − 1), outcomes 1 and 2 saturated (skipped).
    const map = new Float32Array(3 * 16);
    map.fill(1, 0, 16);
    const results = (shift: number) => ({
      probabilities: { dims: [1, 3], data: Float32Array.of(p, 1, 0) },
      localisation_map: { dims: [1, 3, 4, 4], data: map },
      localisation_offset: { dims: [1, 3], data: Float32Array.of(logit - 1 + shift, 0, 0) },
    });
    expect(faithfulnessViolation(outputs, results(0))).toBeUndefined();
    expect(faithfulnessViolation(outputs, results(0.01))).toMatch(
      /^row 0 outcome 0: mean\(localisation_map\)/,
    );
    expect(faithfulnessViolation(outputs, { probabilities: results(0).probabilities })).toMatch(
      /did not return/,
    );
  });
});
