import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReviewApp, twoModelChart, type ReviewAppHarness } from './review-app-harness.js';

/** The `<g class="series">` groups of the trend chart: model named and the points' y values, oldest first. */
function trendSeries(html: string): { model: string; ys: number[] }[] {
  const svg = /<svg class="chart trend"[\s\S]*?<\/svg>/.exec(html)?.[0] ?? '';
  return [...svg.matchAll(/<g class="series" data-model="([^"]*)">([\s\S]*?)<\/g>/g)].map((m) => ({
    model: m[1] ?? '',
    ys: [...(m[2] ?? '').matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((c) => Number(c[1])),
  }));
}

describe('review page with assessments by two models (attention-fusion and late-fusion alternating)', () => {
  let h: ReviewAppHarness;
  let cookie: string;

  beforeAll(async () => {
    h = await startReviewApp({ resources: twoModelChart(40) });
    cookie = await h.signIn();
  });
  afterAll(async () => h?.close());

  const page = async (url = '/review') => {
    const response = await h.app.inject({ method: 'GET', url, headers: { cookie } });
    expect(response.statusCode, response.body).toBe(200);
    return response.body;
  };

  // Issue 25.1: the chart joined both models' assessments into one zig-zag line.
  it('draws one line per model in the risk-over-time chart, each named in the legend', async () => {
    const html = await page();
    const series = trendSeries(html);
    expect(series.map((s) => s.model).sort()).toEqual(['Attention fusion', 'Late fusion']);
    for (const s of series) expect(s.ys).toHaveLength(3);
    // Attention fusion falls (0.8 → 0.7), late fusion rises (0.22 → 0.3): monotone per line, no zig-zag.
    const attention = series.find((s) => s.model === 'Attention fusion')?.ys ?? [];
    const late = series.find((s) => s.model === 'Late fusion')?.ys ?? [];
    expect(attention).toEqual([...attention].sort((a, b) => a - b));
    expect(late).toEqual([...late].sort((a, b) => b - a));
    const legend = /<g class="legend">([\s\S]*?)<\/g>/.exec(html)?.[1] ?? '';
    expect(legend).toContain('>Attention fusion</text>');
    expect(legend).toContain('>Late fusion</text>');
  });
});
