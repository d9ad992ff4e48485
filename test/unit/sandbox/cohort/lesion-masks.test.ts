import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lesionMasksOnModelGrid } from '../../../../models/training/export-features.js';
import {
  drawChestRadiograph,
  type LesionMasks,
} from '../../../../src/sandbox/cohort/chest-radiograph-pixels.js';
import { defaultPrevalence, shiftedSite } from '../../../../src/sandbox/cohort/cohort-options.js';
import {
  CARDIOMEGALY_CTR,
  sampleLatentState,
  type LatentState,
} from '../../../../src/sandbox/cohort/latent-state.js';
import { createRng, type Rng } from '../../../../src/sandbox/cohort/seeded-random.js';

/** A state with every lesion the generator draws: enlarged heart, right effusion, left upper consolidation. */
function sickState(rng: Rng): LatentState {
  return {
    ...sampleLatentState(rng, defaultPrevalence),
    cardiothoracicRatio: 0.6,
    effusion: { left: 0, right: 0.5 },
    consolidation: { side: 'left', zone: 'upper', extent: 1 },
  };
}

/** Centroid (x, y) in [0, 1] of a mask and its pixel count. */
function centroid(mask: Uint8Array, size: number): { x: number; y: number; n: number } {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    sx += (i % size) + 0.5;
    sy += Math.floor(i / size) + 0.5;
    n++;
  }
  return { x: sx / n / size, y: sy / n / size, n };
}

describe('radiograph lesion masks (localisation ground truth)', () => {
  it('records them without changing a pixel or a random draw (hashes from before masks existed)', () => {
    // sha256 of the pixels and the next draw, computed with the generator before it recorded masks.
    const expected = [
      [
        8,
        undefined,
        '494a00cad4126d659f91f2668d8760a57d26f73c303ac04864852f369ed1a3b2',
        0.010855970438569784,
      ],
      [
        21,
        shiftedSite,
        '32aeef466fce74c798d064df6466e15d706f4dee7278e763ddce7e82f7f3c070',
        0.11295068566687405,
      ],
    ] as const;
    for (const [seed, site, hash, next] of expected) {
      const rng = createRng(seed);
      const drawn = drawChestRadiograph(sickState(rng), rng, 96, site);
      expect(createHash('sha256').update(new Uint8Array(drawn.values.buffer)).digest('hex')).toBe(hash);
      expect(rng.next()).toBe(next);
    }
  });

  it('puts each lesion where it is drawn: heart centre-low, right effusion at the image-left base, left upper consolidation', () => {
    const rng = createRng(8);
    const { lesions } = drawChestRadiograph(sickState(rng), rng, 128);
    expect(lesions.size).toBe(128);
    const heart = centroid(lesions.masks.cardiomegaly, 128);
    const effusion = centroid(lesions.masks.effusion, 128);
    const consolidation = centroid(lesions.masks.consolidation, 128);
    expect(heart.n).toBeGreaterThan(500);
    expect(heart.x).toBeGreaterThan(0.45);
    expect(heart.x).toBeLessThan(0.65);
    expect(heart.y).toBeGreaterThan(0.5);
    // PA display: the patient's right lung is on the image left.
    expect(effusion.n).toBeGreaterThan(20);
    expect(effusion.x).toBeLessThan(0.4);
    expect(effusion.y).toBeGreaterThan(0.6);
    expect(consolidation.n).toBeGreaterThan(50);
    expect(consolidation.x).toBeGreaterThan(0.55);
    expect(consolidation.y).toBeLessThan(0.45);
  });

  it('leaves a mask empty when the lesion is absent, and counts a heart as enlarged only above the CTR cut-off', () => {
    const rng = createRng(9);
    const base = sampleLatentState(rng, defaultPrevalence);
    const state = {
      ...base,
      cardiothoracicRatio: CARDIOMEGALY_CTR - 0.02,
      effusion: { left: 0, right: 0 },
      consolidation: undefined,
    };
    const { lesions } = drawChestRadiograph(state, rng, 64);
    for (const mask of Object.values(lesions.masks)) expect(mask.some((v) => v > 0)).toBe(false);
  });

  it('maps masks onto the model grid as toModelImage maps the image (scale, centred padding)', () => {
    // A 4×4 mask with only its top-left pixel set.
    const one = new Uint8Array(16);
    one[0] = 1;
    const none = new Uint8Array(16);
    const lesions: LesionMasks = {
      size: 4,
      masks: { cardiomegaly: one, effusion: none, consolidation: none },
    };
    // Enlarged ×2 onto 8×8: the top-left 2×2 block.
    const square = lesionMasksOnModelGrid(lesions, 4, 4, [8, 8]);
    expect(square.length).toBe(3 * 64);
    expect(Array.from(square.subarray(0, 8))).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(square.subarray(8, 16))).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
    expect(square.subarray(64).some((v) => v > 0)).toBe(false);
    const padded = lesionMasksOnModelGrid(lesions, 4, 4, [8, 4]);
    // Into 8 rows × 4 columns: scale 1, centred with 2 padding rows above; the pixel lands at row 2.
    expect(Array.from(padded.subarray(0, 32))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(lesionMasksOnModelGrid(undefined, 4, 4, [8, 8]).some((v) => v > 0)).toBe(false);
  });
});
