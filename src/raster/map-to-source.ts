import type { ImageGeometry, OutcomeMap } from '../contracts/localisation.js';

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
export function contentRange(map: OutcomeMap, g: ImageGeometry): { min: number; max: number } {
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
  map: OutcomeMap,
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
 * The binary region of `map` on the source pixel grid: the pixels whose resampled value is at
 * least `fraction` of the way from the map's smallest to its largest content value (default ½, the
 * usual class-activation-map threshold). A map with no spread (max = min) marks nothing: it points
 * nowhere. Returns one byte per pixel (0 or 1) and how many pixels are marked.
 */
export function sourceRegion(
  map: OutcomeMap,
  g: ImageGeometry,
  fraction = 0.5,
): { mask: Uint8Array; marked: number } {
  const { min, max } = contentRange(map, g);
  const mask = new Uint8Array(g.sourceWidth * g.sourceHeight);
  if (!(max > min)) return { mask, marked: 0 };
  const threshold = min + fraction * (max - min);
  const values = mapOntoSource(map, g);
  let marked = 0;
  for (let i = 0; i < values.length; i++)
    if (values[i]! >= threshold) {
      mask[i] = 1;
      marked++;
    }
  return { mask, marked };
}
