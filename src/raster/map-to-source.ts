import type { ImageGeometry, OutcomeMap } from '../contracts/localisation.js';

/** A map on the model's output grid (an outcome map or a finding map): row-major values. */
export type GridMap = Pick<OutcomeMap, 'width' | 'height' | 'values'>;

/*
 * Inverts the model input's preprocessing for a map on the model's output grid (issue #20): a
 * source pixel centre (x + ½, y + ½) goes through the same scale and offset `toModelImage` used
 * (`ImageGeometry`) into model-grid coordinates, then to the map's grid (which may be coarser, a
 * CNN's last feature map), where it is sampled bilinearly between cell centres.
 *
 * Padding is never mapped: only source pixels are produced, and the sample position is clamped to
 * the cells whose centres lie on the resized image, so a padding cell never bleeds into an edge.
 */

/** The map cells that lie on the image, not on padding. */
export interface MapGridWindow {
  /** Map cells (inclusive, in cell-index units) whose centres lie on the image, per axis. */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Cells of `map` whose centres lie on the resized image (never padding); at least one per axis. */
export function contentWindow(map: Pick<OutcomeMap, 'width' | 'height'>, g: ImageGeometry): MapGridWindow {
  const kx = map.width / g.modelWidth;
  const ky = map.height / g.modelHeight;
  const axis = (offset: number, size: number, k: number, cells: number): [number, number] => {
    // A cell i has its centre at (i + ½)/k in model pixels; keep those inside [offset, offset + size).
    let lo = Math.ceil(offset * k - 0.5);
    let hi = Math.floor((offset + size) * k - 0.5 - 1e-9);
    lo = Math.min(Math.max(lo, 0), cells - 1);
    hi = Math.min(Math.max(hi, 0), cells - 1);
    // Content narrower than one cell: the cell under its centre.
    if (hi < lo) lo = hi = Math.min(cells - 1, Math.max(0, Math.floor((offset + size / 2) * k)));
    return [lo, hi];
  };
  const [x0, x1] = axis(g.offsetX, g.scaledWidth, kx, map.width);
  const [y0, y1] = axis(g.offsetY, g.scaledHeight, ky, map.height);
  return { x0, x1, y0, y1 };
}

/** Smallest and largest value among the content cells of `map` (padding cells excluded). */
export function contentRange(map: GridMap, g: ImageGeometry): { min: number; max: number } {
  const w = contentWindow(map, g);
  let min = Infinity;
  let max = -Infinity;
  for (let y = w.y0; y <= w.y1; y++)
    for (let x = w.x0; x <= w.x1; x++) {
      const v = map.values[y * map.width + x]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  return { min, max };
}

/**
 * `map` resampled onto the source frame at `outWidth`×`outHeight` (default: the source pixel grid
 * itself; smaller for a thumbnail of the whole frame), row-major, bilinear, in the map's units.
 */
export function mapOntoSource(
  map: GridMap,
  g: ImageGeometry,
  outWidth = g.sourceWidth,
  outHeight = g.sourceHeight,
): Float32Array {
  const out = new Float32Array(outWidth * outHeight);
  const win = contentWindow(map, g);
  const kx = map.width / g.modelWidth;
  const ky = map.height / g.modelHeight;
  // Source pixel → model pixel: offset + source · scaled/source (the resize toModelImage did).
  const sx = g.scaledWidth / g.sourceWidth;
  const sy = g.scaledHeight / g.sourceHeight;
  const cols = new Float64Array(outWidth);
  for (let x = 0; x < outWidth; x++) {
    const source = ((x + 0.5) * g.sourceWidth) / outWidth;
    const cell = (g.offsetX + source * sx) * kx - 0.5;
    cols[x] = Math.min(win.x1, Math.max(win.x0, cell));
  }
  const { values, width } = map;
  for (let y = 0; y < outHeight; y++) {
    const source = ((y + 0.5) * g.sourceHeight) / outHeight;
    const gy = Math.min(win.y1, Math.max(win.y0, (g.offsetY + source * sy) * ky - 0.5));
    const yA = Math.floor(gy);
    const yB = Math.min(yA + 1, win.y1);
    const fy = gy - yA;
    const row = y * outWidth;
    for (let x = 0; x < outWidth; x++) {
      const gx = cols[x]!;
      const xA = Math.floor(gx);
      const xB = Math.min(xA + 1, win.x1);
      const fx = gx - xA;
      const top = values[yA * width + xA]! * (1 - fx) + values[yA * width + xB]! * fx;
      const bottom = values[yB * width + xA]! * (1 - fx) + values[yB * width + xB]! * fx;
      out[row + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/**
 * Where a map's region starts (issue 20). `range`: at `fraction` of the way from the map's smallest
 * to its largest value — for a class-activation map, whose values are logit shares with no
 * absolute meaning (½ is the usual CAM threshold). `probability-of-max`: where the cell's
 * probability sigmoid(value) is at least `fraction` of the largest cell's — for a finding map,
 * whose cells are logits that the cell lies in the region, so the region is every cell nearly as
 * likely as the likeliest (half of it: a small lesion's cells never reach 0.5 on their own).
 */
export type RegionRule = { kind: 'range' | 'probability-of-max'; fraction: number };

/** The usual class-activation-map rule, for outcome maps: half of the map's range. */
export const HALF_RANGE: RegionRule = { kind: 'range', fraction: 0.5 };

/** The finding-map rule: cells at least half as likely as the likeliest. */
export const HALF_MAX_PROBABILITY: RegionRule = { kind: 'probability-of-max', fraction: 0.5 };

/**
 * The value at and above which a cell is in the region, given the map's smallest and largest
 * values; `undefined` for a map with no spread (max = min), which points nowhere.
 */
export function regionThreshold(min: number, max: number, rule: RegionRule): number | undefined {
  if (!(max > min)) return undefined;
  if (rule.kind === 'range') return min + rule.fraction * (max - min);
  // sigmoid(v) ≥ f·sigmoid(max) ⇔ v ≥ logit(f·sigmoid(max)); f·sigmoid(max) < 1, so it is finite.
  const p = rule.fraction / (1 + Math.exp(-max));
  return Math.log(p / (1 - p));
}

/**
 * The binary region of `map` on the source pixel grid: the pixels whose resampled value reaches
 * the rule's threshold over the map's content values ({@link regionThreshold}; default half the
 * range). A map with no spread marks nothing: it points nowhere. Returns one byte per pixel (0 or
 * 1) and how many pixels are marked.
 */
export function sourceRegion(
  map: GridMap,
  g: ImageGeometry,
  rule: RegionRule = HALF_RANGE,
): { mask: Uint8Array; marked: number } {
  const { min, max } = contentRange(map, g);
  const mask = new Uint8Array(g.sourceWidth * g.sourceHeight);
  const threshold = regionThreshold(min, max, rule);
  if (threshold === undefined) return { mask, marked: 0 };
  const values = mapOntoSource(map, g);
  let marked = 0;
  for (let i = 0; i < values.length; i++)
    if (values[i]! >= threshold) {
      mask[i] = 1;
      marked++;
    }
  return { mask, marked };
}
