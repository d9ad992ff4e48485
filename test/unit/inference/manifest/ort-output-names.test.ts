import { describe, expect, it } from 'vitest';
import { outputsByRequestedName } from '../../../../src/inference/manifest/ort-output-names.js';

const graph = ['probabilities', 'localisation_map', 'localisation_offset'];

describe('outputsByRequestedName (onnxruntime-node keys a fetched subset by the first output names)', () => {
  it('renames a non-prefix subset as onnxruntime-node 1.22 returns it: values in graph order, first names as keys', () => {
    expect(outputsByRequestedName(['localisation_map'], graph, { probabilities: 'map' })).toEqual({
      localisation_map: 'map',
    });
    expect(
      outputsByRequestedName(['localisation_offset', 'probabilities'], graph, {
        probabilities: 'p',
        localisation_map: 'offset',
      }),
    ).toEqual({ probabilities: 'p', localisation_offset: 'offset' });
  });

  it('keeps a result whose keys are exactly the names asked for (a prefix, or a fixed runtime)', () => {
    const fixed = { localisation_map: 'map', localisation_offset: 'offset' };
    expect(outputsByRequestedName(['localisation_offset', 'localisation_map'], graph, fixed)).toEqual(fixed);
  });

  it('refuses a result it cannot line up with the request', () => {
    expect(() => outputsByRequestedName(['localisation_map'], graph, { a: 1, b: 2 })).toThrow(
      /returned a, b/,
    );
  });
});
