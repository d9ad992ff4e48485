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

/**
 * Probability over time as an inline SVG line chart (oldest left). Inline SVG needs no script and
 * no external resource, and stays sharp at any zoom; `role="img"` + `<title>` give it a text
 * alternative (WCAG 1.1.1).
 */
export function trendChartSvg(points: TrendPoint[], width = 560, height = 180): string {
  const pad = { left: 44, right: 16, top: 14, bottom: 30 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const sorted = [...points].sort((a, b) => a.date.localeCompare(b.date));
  const times = sorted.map((p) => new Date(p.date).getTime());
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const x = (i: number) =>
    pad.left + (sorted.length === 1 ? w / 2 : t1 === t0 ? (i / (sorted.length - 1)) * w : (((times[i] ?? t0) - t0) / (t1 - t0)) * w);
  const y = (p: number) => pad.top + (1 - Math.max(0, Math.min(1, p))) * h;
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (v) =>
        `<line x1="${pad.left}" x2="${pad.left + w}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>` +
        `<text x="${pad.left - 6}" y="${(y(v) + 4).toFixed(1)}" class="axis" text-anchor="end">${Math.round(v * 100)}%</text>`,
    )
    .join('');
  const path = sorted.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.probability).toFixed(1)}`).join(' ');
  const dots = sorted
    .map(
      (p, i) =>
        `<circle cx="${x(i).toFixed(1)}" cy="${y(p.probability).toFixed(1)}" r="4.5" fill="${riskColour(p.riskCode)}"><title>${escapeHtml(
          `${shortDate(p.date)}: ${(p.probability * 100).toFixed(1)}%`,
        )}</title></circle>`,
    )
    .join('');
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const labels =
    first && last
      ? `<text x="${pad.left}" y="${height - 8}" class="axis">${escapeHtml(shortDate(first.date))}</text>` +
        (sorted.length > 1
          ? `<text x="${pad.left + w}" y="${height - 8}" class="axis" text-anchor="end">${escapeHtml(shortDate(last.date))}</text>`
          : '')
      : '';
  const summary = sorted.map((p) => `${shortDate(p.date)} ${(p.probability * 100).toFixed(0)}%`).join(', ');
  return `<svg class="chart trend" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Risk over time: ${escapeHtml(summary)}">
<title>Risk over time</title>${grid}<path d="${path}" class="trend-line"/>${dots}${labels}</svg>`;
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
