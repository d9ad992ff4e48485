import { PNG } from 'pngjs';

/** An RGB colour, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/** How {@link RgbCanvas.line} draws: a rectangular brush stamped at every step, optionally dashed. */
export interface LineStyle {
  /** Brush width and height in pixels, stamped right and down from each point (default 1×1). */
  brush?: readonly [number, number];
  /** Dash length in steps, drawn and skipped alternately; 0 or absent: solid. */
  dash?: number;
}

/**
 * An opaque RGB raster for text-free plots and drawings, encoded as PNG: the model cards' ROC and
 * reliability plots (`evaluation/plot-png.ts`) and the sandbox's printed ECGs share it, so the
 * pixel and line primitives exist once. Points outside the canvas are clipped.
 */
export interface RgbCanvas {
  readonly width: number;
  readonly height: number;
  /** Paints one pixel (ignored outside the canvas). */
  set(x: number, y: number, color: Rgb): void;
  /**
   * A line between two points, rounded to pixels, by Bresenham's algorithm (integer steps, so the
   * same inputs always give the same pixels and a regenerated PNG is byte-identical).
   */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, style?: LineStyle): void;
  /** The canvas as a PNG file (8-bit RGBA, fully opaque). */
  toPng(): Buffer;
}

/** Creates a `width` × `height` canvas filled with `background`. */
export function createRgbCanvas(width: number, height: number, background: Rgb): RgbCanvas {
  const png = new PNG({ width, height });
  const data = png.data;
  for (let o = 0; o < data.length; o += 4) {
    data[o] = background[0];
    data[o + 1] = background[1];
    data[o + 2] = background[2];
    data[o + 3] = 255;
  }
  const set = (x: number, y: number, color: Rgb): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const o = (y * width + x) * 4;
    data[o] = color[0];
    data[o + 1] = color[1];
    data[o + 2] = color[2];
    data[o + 3] = 255;
  };
  return {
    width,
    height,
    set,
    line(x0, y0, x1, y1, color, style = {}) {
      const [brushWidth, brushHeight] = style.brush ?? [1, 1];
      const dash = style.dash ?? 0;
      let x = Math.round(x0);
      let y = Math.round(y0);
      const endX = Math.round(x1);
      const endY = Math.round(y1);
      const dx = Math.abs(endX - x);
      const dy = -Math.abs(endY - y);
      const sx = x < endX ? 1 : -1;
      const sy = y < endY ? 1 : -1;
      let err = dx + dy;
      for (let step = 0; ; step++) {
        if (dash === 0 || Math.floor(step / dash) % 2 === 0) {
          for (let a = 0; a < brushWidth; a++) for (let b = 0; b < brushHeight; b++) set(x + a, y + b, color);
        }
        if (x === endX && y === endY) break;
        const e2 = 2 * err;
        if (e2 >= dy) {
          err += dy;
          x += sx;
        }
        if (e2 <= dx) {
          err += dx;
          y += sy;
        }
      }
    },
    toPng: () => PNG.sync.write(png),
  };
}
