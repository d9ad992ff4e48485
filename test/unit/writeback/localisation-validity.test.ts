import { describe, expect, it } from 'vitest';
import { mapValidity } from '../../../src/writeback/localisation-validity.js';
import { referenceModel } from './assessment-fixture.js';
import { GATE, lesionFigures, validatedManifest } from './localisation-fixture.js';

const cardiomegaly = { code: '8186001', display: 'Cardiomegaly' };
const withFigures = (pointing: { mean: number; lower: number | null; upper: number | null }, prior = 0.5) =>
  validatedManifest(referenceModel().manifest, [
    lesionFigures('cardiomegaly', cardiomegaly, '56675007', pointing, prior),
  ]);

describe('mapValidity: the localisation validity gate (issue #20)', () => {
  it('passes a map whose lower 95 % bound reaches the minimum and whose mean beats the prior', () => {
    expect(
      mapValidity(withFigures({ mean: 0.9, lower: 0.85, upper: 0.95 }), '56675007', cardiomegaly, GATE),
    ).toEqual({
      valid: true,
    });
  });

  it('passes a map that points as well as the anatomical prior (the heart is where it usually is)', () => {
    expect(
      mapValidity(withFigures({ mean: 1, lower: 1, upper: 1 }, 1), '56675007', cardiomegaly, GATE),
    ).toEqual({
      valid: true,
    });
  });

  it('fails a bound just below the minimum, a mean below the prior, and an unknown bound', () => {
    const failing = [
      [withFigures({ mean: 0.9, lower: 0.849, upper: 0.95 }), 'lower 95 % bound 0.849 < 0.85'],
      [withFigures({ mean: 0.9, lower: 0.88, upper: 0.95 }, 0.91), "below the anatomical prior's 0.91"],
      [withFigures({ mean: 0.9, lower: null, upper: null }), 'lower 95 % bound unknown < 0.85'],
    ] as const;
    for (const [manifest, why] of failing) {
      const validity = mapValidity(manifest, '56675007', cardiomegaly, GATE);
      expect(validity.valid).toBe(false);
      if (!validity.valid) expect(validity.detail).toContain(why);
    }
  });

  it("does not take another outcome's figures for the finding (the map scored must be this outcome's)", () => {
    const validity = mapValidity(
      withFigures({ mean: 0.99, lower: 0.98, upper: 1 }),
      '233604007',
      cardiomegaly,
      GATE,
    );
    expect(validity).toMatchObject({
      valid: false,
      detail: expect.stringContaining('no localisation evaluation'),
    });
  });
});
