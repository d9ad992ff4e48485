import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelManifest, TensorSpec } from '../../../../src/contracts/manifest-types.js';
import { findingOutputs } from '../../../../src/inference/manifest/localisation-output.js';
import { parseManifest } from '../../../../src/inference/manifest/manifest-schema.js';
import { findingMapsOfRow } from '../../../../src/inference/runtime/localisation-maps.js';
import { repoRoot } from '../../../helpers/fixtures.js';

/** The shipped image model's manifest: it declares a finding localiser (issue 20). */
const imageCnn = (): ModelManifest =>
  JSON.parse(
    readFileSync(join(repoRoot, 'models', 'image-cnn', '1', 'manifest.json'), 'utf8'),
  ) as ModelManifest;

const problems = (manifest: ModelManifest): string[] => {
  const result = parseManifest(manifest);
  return result.ok ? [] : result.issues.map((i) => `${i.pointer}: ${i.message}`);
};

const outputIndex = (manifest: ModelManifest, role: TensorSpec['role']): number =>
  manifest.outputs.findIndex((o) => o.role === role);

describe('finding localiser outputs in the manifest (issue 20)', () => {
  it('accepts image-cnn with its finding map [-1, 3, h, w], probabilities [-1, 3] and three SNOMED CT findings', () => {
    const manifest = imageCnn();
    expect(problems(manifest)).toEqual([]);
    const found = findingOutputs(manifest);
    expect(found?.map.shape.slice(0, 2)).toEqual([-1, 3]);
    expect(found?.probabilities.shape).toEqual([-1, 3]);
    expect(manifest.imageFindings?.map((f) => [f.index, f.coding.code])).toEqual([
      [0, '8186001'],
      [1, '60046008'],
      [2, '95436008'],
    ]);
  });

  it('refuses channels that are not the findings, a map without probabilities, and findings without outputs', () => {
    const wrongChannels = imageCnn();
    const map = outputIndex(wrongChannels, 'finding-map');
    wrongChannels.outputs[map]!.shape = [-1, 2, 16, 16];
    expect(problems(wrongChannels)).toEqual([
      `/outputs/${map}/shape: finding-map must be [-1, 3, h, w]: one fixed-size map per image finding`,
    ]);

    const alone = imageCnn();
    alone.outputs = alone.outputs.filter((o) => o.role !== 'finding-probabilities');
    expect(problems(alone)).toEqual([
      "/outputs: 'finding-map' and 'finding-probabilities' outputs come together",
    ]);

    const unnamed = imageCnn();
    delete unnamed.imageFindings;
    expect(problems(unnamed)).toContain(
      '/imageFindings: a finding-map output needs imageFindings naming its channels',
    );

    const orphan = imageCnn();
    orphan.outputs = orphan.outputs.filter(
      (o) => o.role !== 'finding-probabilities' && o.role !== 'finding-map',
    );
    expect(problems(orphan)).toEqual([
      "/imageFindings: imageFindings need 'finding-map' and 'finding-probabilities' outputs",
    ]);
  });

  it('refuses a channel named twice or outside the map, and a threshold outside (0, 1]', () => {
    const twice = imageCnn();
    twice.imageFindings![2]!.index = 0;
    expect(problems(twice)).toEqual(['/imageFindings/2/index: each of 0…2 must name exactly one channel']);
    const outside = imageCnn();
    outside.imageFindings![1]!.index = 3;
    expect(problems(outside)).toEqual(['/imageFindings/1/index: each of 0…2 must name exactly one channel']);
    const zero = imageCnn();
    zero.imageFindings![0]!.threshold = 0;
    expect(problems(zero).some((p) => p.startsWith('/imageFindings/0/threshold'))).toBe(true);
  });
});

describe('findingMapsOfRow', () => {
  const manifest = {
    imageFindings: [
      { index: 1, coding: { system: 'http://snomed.info/sct', code: 'b', display: 'B' }, threshold: 0.5 },
      { index: 0, coding: { system: 'http://snomed.info/sct', code: 'a', display: 'A' }, threshold: 0.5 },
    ],
  };
  // Two rows, two findings, 1×2 maps: value = row·10 + channel·2 + cell.
  const map = { dims: [2, 2, 1, 2], data: Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]) };
  const probabilities = { dims: [2, 2], data: Float32Array.from([0.1, 0.2, 0.7, 0.8]) };

  it("copies each finding's channel and probability of the row, by the manifest's index", () => {
    const maps = findingMapsOfRow(manifest, map, probabilities, 1)!;
    expect(maps.map((m) => [m.findingIndex, m.probability, [...m.values]])).toEqual([
      [1, Float32Array.from([0.8])[0], [12, 13]],
      [0, Float32Array.from([0.7])[0], [10, 11]],
    ]);
    expect(maps[0]!.values.buffer).not.toBe(map.data.buffer);
  });

  it('drops a malformed output rather than misread it', () => {
    expect(findingMapsOfRow(manifest, { ...map, dims: [2, 2, 2] }, probabilities, 0)).toBeUndefined();
    expect(findingMapsOfRow(manifest, map, { ...probabilities, dims: [2, 3] }, 0)).toBeUndefined();
    expect(
      findingMapsOfRow(
        manifest,
        map,
        { ...probabilities, data: Float32Array.from([Number.NaN, 0, 0, 0]) },
        0,
      ),
    ).toBeUndefined();
    expect(findingMapsOfRow(manifest, map, probabilities, 2)).toBeUndefined();
  });
});
