import { escapeHtml } from '../../http/escape-html.js';

/** One point of the risk trend. */
export interface TrendPoint {
  /** ISO date-time. */
  date: string;
  /** 0..1. */
  probability: number;
  riskCode: string | undefined;
}

const RISK_COLOURS: Record<string, string> = {
  negligible: '#2e7d32',
  low: '#558b2f',
  moderate: '#ef6c00',
  high: '#c62828',
  certain: '#8e0000',
};

/** The colour of a risk-probability code (green → red), grey when unknown. */
export function riskColour(code: string | undefined): string {
  return (code && RISK_COLOURS[code]) || '#546e7a';
}

function shortDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(5, 10)} ${d.toISOString().slice(11, 16)}`;
}

/** One model's assessments over time: one line of the trend chart. */
export interface TrendSeries {
  /** The model, as the legend names it. */
  label: string;
  points: TrendPoint[];
}

/** Line styles told apart without colour (WCAG 1.4.1): solid, dashed, dotted, … */
const SERIES_STYLES = 6;

/**
 * Probability over time as an inline SVG line chart (oldest left), one line per model: joining
 * assessments of different models into one line would draw jumps that are only the models
 * disagreeing. Each line has its own stroke and dash pattern and is named in the legend. Inline SVG
 * needs no script and no external resource, and stays sharp at any zoom; `role="img"` + an
 * `aria-label` listing every model's points give it a text alternative (WCAG 1.1.1).
 */
export function trendChartSvg(series: TrendSeries[], width = 560, plotHeight = 180): string {
  let height = plotHeight;
  const shown = series.filter((s) => s.points.length > 0);
  // One legend row per model: model titles are long, so rows never share a line.
  const legendHeight = shown.length > 0 ? shown.length * 18 + 4 : 0;
  height += legendHeight;
  const pad = { left: 44, right: 16, top: 14 + legendHeight, bottom: 30 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const sorted = shown.map((s) => ({ ...s, points: [...s.points].sort((a, b) => a.date.localeCompare(b.date)) }));
  const all = sorted.flatMap((s) => s.points);
  const times = all.map((p) => new Date(p.date).getTime());
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const x = (date: string) => pad.left + (t1 === t0 ? w / 2 : ((new Date(date).getTime() - t0) / (t1 - t0)) * w);
  const y = (p: number) => pad.top + (1 - Math.max(0, Math.min(1, p))) * h;
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (v) =>
        `<line x1="${pad.left}" x2="${pad.left + w}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>` +
        `<text x="${pad.left - 6}" y="${(y(v) + 4).toFixed(1)}" class="axis" text-anchor="end">${Math.round(v * 100)}%</text>`,
    )
    .join('');
  const lines = sorted
    .map((s, i) => {
      const style = `series-${i % SERIES_STYLES}`;
      const path = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.date).toFixed(1)},${y(p.probability).toFixed(1)}`).join(' ');
      const dots = s.points
        .map(
          (p) =>
            `<circle cx="${x(p.date).toFixed(1)}" cy="${y(p.probability).toFixed(1)}" r="4.5" fill="${riskColour(p.riskCode)}" class="dot ${style}"><title>${escapeHtml(
              `${s.label}, ${shortDate(p.date)}: ${(p.probability * 100).toFixed(1)}%`,
            )}</title></circle>`,
        )
        .join('');
      return `<g class="series" data-model="${escapeHtml(s.label)}"><path d="${path}" class="trend-line ${style}"/>${dots}</g>`;
    })
    .join('');
  const legend = legendHeight
    ? `<g class="legend">${sorted
        .map((s, i) => {
          const ly = 10 + i * 18;
          const style = `series-${i % SERIES_STYLES}`;
          const label = s.label.length > 80 ? `${s.label.slice(0, 79)}…` : s.label;
          return `<line x1="${pad.left}" x2="${pad.left + 22}" y1="${ly}" y2="${ly}" class="trend-line ${style}"/><text x="${pad.left + 28}" y="${ly + 4}" class="legend-label">${escapeHtml(label)}</text>`;
        })
        .join('')}</g>`
    : '';
  const first = times.length ? new Date(t0).toISOString() : undefined;
  const last = times.length ? new Date(t1).toISOString() : undefined;
  const labels =
    first && last
      ? `<text x="${pad.left}" y="${height - 8}" class="axis">${escapeHtml(shortDate(first))}</text>` +
        (t1 !== t0 ? `<text x="${pad.left + w}" y="${height - 8}" class="axis" text-anchor="end">${escapeHtml(shortDate(last))}</text>` : '')
      : '';
  const summary = sorted
    .map((s) => `${s.label}: ${s.points.map((p) => `${shortDate(p.date)} ${(p.probability * 100).toFixed(0)}%`).join(', ')}`)
    .join('; ');
  return `<svg class="chart trend" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Risk over time, one line per model. ${escapeHtml(summary)}">
<title>Risk over time</title>${legend}${grid}${lines}${labels}</svg>`;
}

/** One bar of a contribution chart. */
export interface ContributionBar {
  label: string;
  /** Probability change attributed to this input (positive raises the risk). */
  delta: number;
  /** Extra text after the label, e.g. the feature's value and unit. */
  detail?: string;
}

/**
 * Signed horizontal bars centred on zero: red raises the risk, blue lowers it. The scale is the
 * largest |delta| so small contributions stay visible; the number is printed beside every bar.
 */
export function contributionChartSvg(bars: ContributionBar[], width = 560): string {
  const rowHeight = 26;
  const labelWidth = 210;
  const valueWidth = 64;
  const height = bars.length * rowHeight + 8;
  const plot = width - labelWidth - valueWidth;
  const mid = labelWidth + plot / 2;
  const scale = Math.max(0.01, ...bars.map((b) => Math.abs(b.delta)));
  const rows = bars
    .map((b, i) => {
      const yTop = 4 + i * rowHeight;
      const len = (Math.abs(b.delta) / scale) * (plot / 2 - 4);
      const xBar = b.delta >= 0 ? mid : mid - len;
      const cls = b.delta >= 0 ? 'bar-up' : 'bar-down';
      const sign = b.delta >= 0 ? '+' : '−';
      const label = b.detail ? `${b.label} · ${b.detail}` : b.label;
      return (
        `<text x="${labelWidth - 8}" y="${yTop + 17}" class="bar-label" text-anchor="end">${escapeHtml(label)}</text>` +
        `<rect x="${xBar.toFixed(1)}" y="${yTop + 5}" width="${Math.max(1, len).toFixed(1)}" height="${rowHeight - 10}" class="${cls}" rx="2"/>` +
        `<text x="${width - 4}" y="${yTop + 17}" class="bar-value" text-anchor="end">${sign}${(Math.abs(b.delta) * 100).toFixed(1)} pts</text>`
      );
    })
    .join('');
  const summary = bars.map((b) => `${b.label} ${(b.delta * 100).toFixed(1)} points`).join(', ');
  return `<svg class="chart bars" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeHtml(summary)}">
<line x1="${mid}" x2="${mid}" y1="0" y2="${height}" class="zero"/>${rows}</svg>`;
}
