import { referenceSite, type CohortSite } from './cohort-options.js';
import { CARDIOMEGALY_CTR, type LatentState, type Side } from './latent-state.js';
import type { Rng } from './seeded-random.js';

/** A drawn radiograph: brightness in [0, 1], bright = attenuating (MONOCHROME2 sense), row-major. */
export interface RadiographPixels {
  size: number;
  values: Float32Array;
}

/** A radiograph as drawn, with where each lesion is (ground truth; never written to DICOM or FHIR). */
export interface DrawnRadiograph extends RadiographPixels {
  lesions: LesionMasks;
}

/** The lesion types the generator draws and records a region for, in this order everywhere. */
export const LESION_TYPES = ['cardiomegaly', 'effusion', 'consolidation'] as const;

/** One of {@link LESION_TYPES}. */
export type LesionType = (typeof LESION_TYPES)[number];

/**
 * Ground-truth lesion regions of one radiograph: a binary mask per lesion type (1 inside), row-major
 * on a `size`² grid covering the same field of view as the image (the anatomy grid, at most 256²;
 * the image may be drawn larger and is upsampled from it). A mask is all zero when the lesion is
 * absent or hidden. Regions: cardiomegaly, the heart silhouette when the cardiothoracic ratio
 * exceeds {@link CARDIOMEGALY_CTR}; effusion, the fluid-filled lung base (both sides) where the
 * heart does not hide it; consolidation, the lobar opacity envelope inside the lung, outside the
 * heart. Recorded from the same geometry the pixels are drawn from, with no extra random draws,
 * so recording cannot change a pixel.
 */
export interface LesionMasks {
  size: number;
  masks: Record<LesionType, Uint8Array>;
}

function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
}

/** Smooth value noise on a coarse grid, bilinearly interpolated; allocation-free lookups. */
class ValueNoise {
  private readonly grid: Float32Array;
  constructor(
    private readonly cells: number,
    rng: Rng,
  ) {
    this.grid = new Float32Array((cells + 1) * (cells + 1));
    for (let i = 0; i < this.grid.length; i++) this.grid[i] = rng.next();
  }
  /** Value in [0, 1) at (u, v) in [0, 1]². */
  at(u: number, v: number): number {
    const c = this.cells;
    const x = Math.min(c - 1e-6, Math.max(0, u * c));
    const y = Math.min(c - 1e-6, Math.max(0, v * c));
    const xi = x | 0;
    const yi = y | 0;
    const fx = x - xi;
    const fy = y - yi;
    const sx = fx * fx * (3 - 2 * fx);
    const sy = fy * fy * (3 - 2 * fy);
    const g = this.grid;
    const row = c + 1;
    const a = g[yi * row + xi] as number;
    const b = g[yi * row + xi + 1] as number;
    const d = g[(yi + 1) * row + xi] as number;
    const e = g[(yi + 1) * row + xi + 1] as number;
    return a + (b - a) * sx + (d - a + (a - b - d + e) * sx) * sy;
  }
}

interface LungGeometry {
  side: Side;
  /** Lateral and medial x at the base; the lung narrows towards the apex. */
  lateral: number;
  medial: number;
  apex: number;
  /** Lowest point of the lung (costophrenic angle), y. */
  base: number;
  dome: number;
}

/**
 * Draws a PA chest radiograph procedurally: trunk, lungs with vascular markings, ribs, clavicles,
 * spine and trachea, mediastinum, a heart silhouette whose width is the latent cardiothoracic
 * ratio, perihilar oedema haze, pleural effusions that blunt the costophrenic angles with a
 * meniscus, lobar consolidation as mottled opacity, and quantum noise. Image left is the
 * patient's right, as on a PA film. Uses typed arrays and scalar maths only (no per-pixel
 * allocation) because 1,000 patients must draw in seconds. Also returns the lesion masks
 * ({@link LesionMasks}) on the anatomy grid, recorded without any random draw.
 */
export function drawChestRadiograph(
  state: LatentState,
  rng: Rng,
  size: number,
  detector: Pick<CohortSite, 'radiographGamma' | 'radiographGain' | 'radiographExtraNoise'> = referenceSite,
): DrawnRadiograph {
  const { radiographGamma: gamma, radiographGain: gain, radiographExtraNoise: extraNoise } = detector;
  // Anatomy is smooth: draw it at up to 256² and upsample, then add full-resolution noise.
  const anatomySize = Math.min(size, 256);
  const { values: anatomy, lesions } = drawAnatomy(state, rng, anatomySize);
  const noiseSd = rng.uniform(0.012, 0.022);
  const values = new Float32Array(size * size);
  const scale = anatomySize / size;
  const last = anatomySize - 1;
  for (let py = 0; py < size; py++) {
    const sy = Math.min(last, Math.max(0, (py + 0.5) * scale - 0.5));
    const y0 = sy | 0;
    const y1 = Math.min(last, y0 + 1);
    const fy = sy - y0;
    for (let px = 0; px < size; px++) {
      const sx = Math.min(last, Math.max(0, (px + 0.5) * scale - 0.5));
      const x0 = sx | 0;
      const x1 = Math.min(last, x0 + 1);
      const fx = sx - x0;
      const a = anatomy[y0 * anatomySize + x0] as number;
      const b = anatomy[y0 * anatomySize + x1] as number;
      const c = anatomy[y1 * anatomySize + x0] as number;
      const d = anatomy[y1 * anatomySize + x1] as number;
      let v = a + (b - a) * fx + (c - a + (a - b - c + d) * fx) * fy + noiseSd * rng.approxNormal();
      // Another site's detector: its own contrast curve and noise (no extra draws at the reference site).
      if (extraNoise > 0) v += extraNoise * rng.approxNormal();
      v = v < 0 ? 0 : v > 1 ? 1 : v;
      values[py * size + px] = gamma === 1 && gain === 1 ? v : Math.min(1, gain * v ** gamma);
    }
  }
  return { size, values, lesions };
}

/** The noiseless anatomy at `size`², brightness in [0, 1], and the lesion masks on the same grid. */
function drawAnatomy(
  state: LatentState,
  rng: Rng,
  size: number,
): { values: Float32Array; lesions: LesionMasks } {
  const values = new Float32Array(size * size);
  const cardiomegalyMask = new Uint8Array(size * size);
  const effusionMask = new Uint8Array(size * size);
  const consolidationMask = new Uint8Array(size * size);
  const cardiomegaly = state.cardiothoracicRatio > CARDIOMEGALY_CTR;
  const texture = new ValueNoise(24, rng);
  const mottle = new ValueNoise(10, rng);
  const inspiration = rng.uniform(-0.03, 0.03);
  const rotation = rng.uniform(-0.015, 0.015);
  const exposure = rng.uniform(0.9, 1.1);
  const lungs: LungGeometry[] = [
    {
      side: 'right',
      lateral: 0.1 + rng.uniform(-0.01, 0.01),
      medial: 0.45,
      apex: 0.1,
      base: 0.76 + inspiration,
      dome: 0.09,
    },
    {
      side: 'left',
      lateral: 0.9 + rng.uniform(-0.01, 0.01),
      medial: 0.55,
      apex: 0.11,
      base: 0.79 + inspiration,
      dome: 0.08,
    },
  ];
  const thoraxWidth = (lungs[1] as LungGeometry).lateral - (lungs[0] as LungGeometry).lateral;
  const heartHalfWidth = (state.cardiothoracicRatio * thoraxWidth) / 2;
  const heartCx = 0.5 + 0.25 * heartHalfWidth + rotation;
  const heartCy = 0.63 + inspiration;
  // Tilted ellipse whose horizontal extent is the cardiothoracic ratio times the thorax width.
  const heartTilt = 0.35;
  const heartCos = Math.cos(heartTilt);
  const heartSin = Math.sin(heartTilt);
  const heartB = 0.125 + 0.12 * (state.cardiothoracicRatio - 0.45);
  // Horizontal half-extent of a rotated ellipse: sqrt(a²cos² + b²sin²) = heartHalfWidth.
  const heartA = Math.sqrt(
    Math.max(
      heartB * heartB,
      (heartHalfWidth * heartHalfWidth - heartB * heartB * heartSin * heartSin) / (heartCos * heartCos),
    ),
  );
  const hilumY = 0.43;
  const vesselPhase = rng.uniform(0, 6.283);
  const vesselCount = rng.int(9, 13);
  const consolidation = state.consolidation;
  const consolidationCy = consolidation
    ? ({ lower: 0.63, middle: 0.53, upper: 0.26 } as const)[consolidation.zone]
    : 0;
  const consolidationCx = consolidation
    ? consolidation.side === 'right'
      ? consolidation.zone === 'middle'
        ? 0.36
        : 0.27
      : consolidation.zone === 'upper'
        ? 0.7
        : 0.73
    : 0;
  const inv = 1 / size;

  for (let py = 0; py < size; py++) {
    const y = (py + 0.5) * inv;
    for (let px = 0; px < size; px++) {
      const x = (px + 0.5) * inv - rotation;
      const dx = x - 0.5;
      // Trunk: neck widening into shoulders; soft tissue brightness.
      const halfTrunk = y < 0.05 ? 0.13 : Math.min(0.47, 0.13 + (y - 0.05) * 2.4);
      const trunk = 1 - smoothstep(halfTrunk - 0.02, halfTrunk + 0.01, Math.abs(dx));
      let v = 0.06 + 0.42 * trunk;

      // Lungs: darken inside, with lateral border curving in towards the apex and a diaphragm dome.
      let lungMask = 0;
      let inLung: LungGeometry | undefined;
      let fluid = 0;
      for (const lung of lungs) {
        const t = (y - lung.apex) / (lung.base - lung.apex);
        if (t < -0.05 || t > 1.25) continue;
        const lateralAt =
          lung.lateral + (lung.side === 'right' ? 1 : -1) * 0.16 * (1 - Math.min(1, Math.max(0, t))) ** 2.2;
        const lo = Math.min(lateralAt, lung.medial);
        const hi = Math.max(lateralAt, lung.medial);
        if (x < lo - 0.02 || x > hi + 0.02) continue;
        // Fraction across the lung from lateral (0) to medial (1), for the dome.
        const across = (x - lung.lateral) / (lung.medial - lung.lateral);
        // Rounded apex: highest over the middle of the lung.
        const mid = (across - 0.45) * 2;
        const apexAt = lung.apex + 0.1 * mid * mid;
        const bottom = lung.base - lung.dome * Math.sin(Math.PI * Math.min(1, Math.max(0, across)) * 0.85);
        const mask =
          smoothstep(lo - 0.004, lo + 0.012, x) *
          (1 - smoothstep(hi - 0.012, hi + 0.004, x)) *
          smoothstep(apexAt - 0.01, apexAt + 0.04, y) *
          (1 - smoothstep(bottom - 0.008, bottom + 0.004, y));
        if (mask > lungMask) {
          lungMask = mask;
          inLung = lung;
          // Effusion: fluid layers at the base with a meniscus climbing the lateral wall,
          // blunting the costophrenic angle (the first sign on an erect PA film).
          const effusionSize = state.effusion[lung.side];
          if (effusionSize > 0) {
            const level =
              lung.base -
              effusionSize * 0.2 -
              0.22 * effusionSize * (1 - Math.min(1, Math.max(0, across))) ** 3;
            fluid = smoothstep(level - 0.015, level + 0.02, y);
          }
        }
      }
      let lungDark = 0.33 * lungMask * exposure;
      // Lobar envelope of the consolidation at this pixel (0 outside it), for the ground truth.
      let consolidationBlob = 0;
      if (inLung !== undefined && lungMask > 0) {
        // Vascular markings: wavy branches radiating from the hila, thinning towards the
        // periphery, plus the dense hilar vessels themselves.
        const hx = inLung.side === 'right' ? 0.42 : 0.58;
        const ddx = x - hx;
        const ddy = y - hilumY;
        const dist = Math.sqrt(ddx * ddx + ddy * ddy);
        const angle = Math.atan2(ddy, ddx);
        const stripes = Math.cos(vesselCount * 2 * angle + vesselPhase + 9 * texture.at(x, y) + 14 * dist);
        const vessels =
          Math.max(0, stripes - 0.7) *
          0.22 *
          Math.exp(-dist * 5) *
          smoothstep(0.02, 0.08, dist) *
          (1 + 1.5 * state.edema);
        const hilum = 0.09 * Math.exp(-(ddx * ddx) / 0.0012 - (ddy * ddy) / 0.004);
        // Perihilar "bat-wing" haze of oedema and a diffuse ground-glass veil.
        const haze = state.edema * (0.2 * Math.exp(-(dist * dist) / 0.03) + 0.06);
        let opacity = vessels + hilum + haze + 0.03 * (texture.at(x * 1.7, y * 1.7) - 0.5);
        if (consolidation && inLung.side === consolidation.side) {
          const cx = x - consolidationCx;
          const cy = y - consolidationCy;
          const r2 = (cx * cx) / 0.016 + (cy * cy) / 0.011;
          const blob = Math.exp(-r2 * (1.4 - 0.6 * consolidation.extent));
          consolidationBlob = blob;
          const patch = smoothstep(0.35, 0.65, mottle.at(x * 2, y * 2) * 0.6 + blob * 0.7);
          opacity += 0.45 * (0.4 + 0.6 * consolidation.extent) * patch * blob;
        }
        if (state.atelectasis === inLung.side) {
          const line = y - (inLung.base - 0.1);
          const alongLine = Math.abs(x - (inLung.side === 'right' ? 0.3 : 0.7));
          if (alongLine < 0.15) opacity += 0.09 * Math.exp(-(line * line) / 0.00005);
        }
        lungDark = Math.max(0, lungDark - opacity * lungMask);
        lungDark *= 1 - 0.95 * fluid;
      }

      // Heart silhouette: an ellipse tilted so the apex points down and to the patient's left,
      // with a smaller bulge across the right border; it hides the medial lungs.
      const hdx = x - heartCx;
      const hdy = y - heartCy;
      const along = hdx * heartCos + hdy * heartSin;
      const across = -hdx * heartSin + hdy * heartCos;
      const heartR = (along * along) / (heartA * heartA) + (across * across) / (heartB * heartB);
      const heart = 1 - smoothstep(0.9, 1.05, heartR);
      lungDark *= 1 - heart;
      // Ground truth (no random draws here): what a reader would outline on this film.
      const at = py * size + px;
      if (cardiomegaly && heart >= 0.5) cardiomegalyMask[at] = 1;
      if (heart < 0.5 && lungMask >= 0.5) {
        if (fluid >= 0.5) effusionMask[at] = 1;
        if (consolidationBlob >= 0.5) consolidationMask[at] = 1;
      }
      v -= lungDark;
      // The heart is as dense as the mediastinum: slightly brighter than the chest wall.
      v += 0.05 * heart * (1 - smoothstep(0.7, 0.8, y));

      // Mediastinum and spine: denser centrally; trachea: an air column.
      const spine = 1 - smoothstep(0.035, 0.05, Math.abs(dx));
      v += 0.1 * spine * trunk * smoothstep(0.05, 0.2, y);
      const mediastinum = (1 - smoothstep(0.06, 0.08, Math.abs(dx))) * smoothstep(0.1, 0.2, y);
      v += 0.05 * mediastinum * (1 - heart);
      const trachea =
        (1 - smoothstep(0.012, 0.02, Math.abs(dx))) *
        (1 - smoothstep(0.3, 0.36, y)) *
        smoothstep(0.02, 0.06, y);
      v -= 0.12 * trachea;

      // Posterior ribs: arcs descending laterally, seen over the lungs and chest wall only.
      if (trunk > 0.5 && y > 0.1 && y < 0.8) {
        const ax = Math.abs(dx);
        const ribCoord = (y - 1.3 * ax * ax + 0.05 * ax) / 0.06;
        const frac = ribCoord - Math.floor(ribCoord);
        const rib = smoothstep(0.0, 0.1, frac) * (1 - smoothstep(0.25, 0.38, frac));
        v +=
          0.06 *
          rib *
          smoothstep(0.06, 0.12, ax) *
          (0.25 + 0.75 * lungMask * (1 - fluid)) *
          (1 - 0.7 * heart) *
          (1 - smoothstep(0.7, 0.8, y));
        // Clavicles: oblique bands from the sternal notch to the shoulders.
        const clavicleY = 0.16 - 0.16 * ax;
        const cd = (y - clavicleY) / 0.014;
        if (ax > 0.04 && ax < 0.36) v += 0.1 * Math.exp(-cd * cd);
      }

      // Diaphragm and abdomen below the lungs stay soft-tissue bright.
      values[py * size + px] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
  const masks = { cardiomegaly: cardiomegalyMask, effusion: effusionMask, consolidation: consolidationMask };
  return { values, lesions: { size, masks } };
}
