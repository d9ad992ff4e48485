import { PNG } from 'pngjs';
import type { CalibrationBin, RocPoint } from './binary-metrics.js';

/** One series on a unit-square plot: points in [0, 1]², drawn as a polyline. */
export interface PlotSeries {
  points: Array<[number, number]>;
  /** RGB colour. */
  color: [number, number, number];
  /** Draw a square marker at each point (reliability diagrams). */
  markers?: boolean;
}

/** Colours per outcome index, in the order the card's legend names them. */
export const SERIES_COLORS: ReadonlyArray<[number, number, number]> = [
  [213, 94, 0],
  [0, 114, 178],
  [0, 158, 115],
  [204, 121, 167],
];

const SIZE = 360;
const MARGIN = 30;

/**
 * Render series on the unit square with a light 0.2 grid and the y = x diagonal (chance for
 * ROC, perfect calibration for reliability diagrams). No text: axes are always [0, 1] and the
 * legend lives in the model card, which keeps this free of font rendering.
 */
export function renderUnitSquarePlot(series: readonly PlotSeries[]): Uint8Array {
  const png = new PNG({ width: SIZE, height: SIZE });
  png.data.fill(255);
  const span = SIZE - 2 * MARGIN;
  const px = (x: number): number => Math.round(MARGIN + x * span);
  const py = (y: number): number => Math.round(SIZE - MARGIN - y * span);
  const set = (x: number, y: number, c: readonly [number, number, number]): void => {
    if (x < 0 || y < 0 || x >= SIZE || y >= SIZE) return;
    const i = (y * SIZE + x) * 4;
    png.data[i] = c[0];
    png.data[i + 1] = c[1];
    png.data[i + 2] = c[2];
    png.data[i + 3] = 255;
  };
  const line = (x0: number, y0: number, x1: number, y1: number, c: readonly [number, number, number], width = 1, dash = 0): void => {
    // Bresenham's line algorithm; `width` thickens it by stamping a square brush.
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    let step = 0;
    for (;;) {
      if (dash === 0 || Math.floor(step / dash) % 2 === 0) {
        for (let a = 0; a < width; a++) for (let b = 0; b < width; b++) set(x0 + a, y0 + b, c);
      }
      step++;
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  };
  const grid: [number, number, number] = [225, 225, 225];
  for (let g = 0; g <= 5; g++) {
    line(px(g / 5), py(0), px(g / 5), py(1), grid);
    line(px(0), py(g / 5), px(1), py(g / 5), grid);
  }
  const axis: [number, number, number] = [0, 0, 0];
  line(px(0), py(0), px(1), py(0), axis, 2);
  line(px(0), py(0), px(0), py(1), axis, 2);
  line(px(0), py(0), px(1), py(1), [150, 150, 150], 1, 4);
  for (const s of series) {
    for (let i = 1; i < s.points.length; i++) {
      const [ax, ay] = s.points[i - 1] as [number, number];
      const [bx, by] = s.points[i] as [number, number];
      line(px(ax), py(ay), px(bx), py(by), s.color, 2);
    }
    if (s.markers) {
      for (const [x, y] of s.points) for (let a = -3; a <= 3; a++) for (let b = -3; b <= 3; b++) set(px(x) + a, py(y) + b, s.color);
    }
  }
  return PNG.sync.write(png);
}

/** ROC curves, one series per outcome. */
export function rocPlotPng(curves: readonly RocPoint[][]): Uint8Array {
  return renderUnitSquarePlot(
    curves.map((curve, i) => ({
      points: curve.map((p) => [p.falsePositiveRate, p.truePositiveRate] as [number, number]),
      color: SERIES_COLORS[i % SERIES_COLORS.length] as [number, number, number],
    })),
  );
}

/** Reliability diagrams (observed rate against mean predicted probability), one series per outcome. */
export function calibrationPlotPng(binsPerOutcome: readonly CalibrationBin[][]): Uint8Array {
  return renderUnitSquarePlot(
    binsPerOutcome.map((bins, i) => ({
      points: bins.filter((b) => b.count > 0).map((b) => [b.meanPredicted, b.observedRate] as [number, number]),
      color: SERIES_COLORS[i % SERIES_COLORS.length] as [number, number, number],
      markers: true,
    })),
  );
}
