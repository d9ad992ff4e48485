import { createRgbCanvas, type Rgb } from '../raster/rgb-canvas.js';
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
  const canvas = createRgbCanvas(SIZE, SIZE, [255, 255, 255]);
  const span = SIZE - 2 * MARGIN;
  const px = (x: number): number => Math.round(MARGIN + x * span);
  const py = (y: number): number => Math.round(SIZE - MARGIN - y * span);
  const grid: Rgb = [225, 225, 225];
  for (let g = 0; g <= 5; g++) {
    canvas.line(px(g / 5), py(0), px(g / 5), py(1), grid);
    canvas.line(px(0), py(g / 5), px(1), py(g / 5), grid);
  }
  const axis: Rgb = [0, 0, 0];
  canvas.line(px(0), py(0), px(1), py(0), axis, { brush: [2, 2] });
  canvas.line(px(0), py(0), px(0), py(1), axis, { brush: [2, 2] });
  canvas.line(px(0), py(0), px(1), py(1), [150, 150, 150], { dash: 4 });
  for (const s of series) {
    for (let i = 1; i < s.points.length; i++) {
      const [ax, ay] = s.points[i - 1] as [number, number];
      const [bx, by] = s.points[i] as [number, number];
      canvas.line(px(ax), py(ay), px(bx), py(by), s.color, { brush: [2, 2] });
    }
    if (s.markers) {
      for (const [x, y] of s.points)
        for (let a = -3; a <= 3; a++) for (let b = -3; b <= 3; b++) canvas.set(px(x) + a, py(y) + b, s.color);
    }
  }
  return canvas.toPng();
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
