import type { Observation } from '@medplum/fhirtypes';
import { ecgFromObservation } from '../../preprocess/ecg/ecg-from-observation.js';
import { deriveLimbLeads, STANDARD_LEADS } from '../../preprocess/ecg/ecg-leads.js';
import { escapeHtml } from '../../http/escape-html.js';

/** Standard 3 × 4 layout (IEC 60601-2-51 style): each row shows 2.5 s of four leads in turn. */
const LAYOUT: ReadonlyArray<ReadonlyArray<(typeof STANDARD_LEADS)[number]>> = [
  ['I', 'aVR', 'V1', 'V4'],
  ['II', 'aVL', 'V2', 'V5'],
  ['III', 'aVF', 'V3', 'V6'],
];

/** Paper scale: 25 mm/s and 10 mm/mV, drawn at `PX_PER_MM` pixels per millimetre. */
const PX_PER_MM = 4;
const SECONDS_PER_COLUMN = 2.5;
const ROW_MM = 30;

/**
 * Renders a 12-lead ECG Observation (SampledData per lead, read by the preprocessing's
 * `ecgFromObservation`, limb leads derived when only I and II are sent) as an SVG strip on the
 * standard 1 mm / 5 mm grid, 25 mm/s, 10 mm/mV, three rows of four leads plus a lead II rhythm
 * strip. Returns `undefined` when the Observation holds no usable leads.
 */
export function ecgStripSvg(observation: Observation): string | undefined {
  const parsed = ecgFromObservation(observation);
  if (!parsed.ok) return undefined;
  const leads = { ...parsed.value.leads, ...deriveLimbLeads(parsed.value.leads) };
  const rate = parsed.value.sampleRateHz;
  const columnMm = SECONDS_PER_COLUMN * 25;
  const widthMm = columnMm * 4;
  const rows = [...LAYOUT.map((r) => [...r]), ['II']] as string[][];
  const heightMm = rows.length * ROW_MM;
  const W = widthMm * PX_PER_MM;
  const H = heightMm * PX_PER_MM;
  const minor: string[] = [];
  for (let mm = 0; mm <= widthMm; mm += 1) minor.push(`M${mm * PX_PER_MM},0V${H}`);
  for (let mm = 0; mm <= heightMm; mm += 1) minor.push(`M0,${mm * PX_PER_MM}H${W}`);
  const major: string[] = [];
  for (let mm = 0; mm <= widthMm; mm += 5) major.push(`M${mm * PX_PER_MM},0V${H}`);
  for (let mm = 0; mm <= heightMm; mm += 5) major.push(`M0,${mm * PX_PER_MM}H${W}`);
  const traces: string[] = [];
  const labels: string[] = [];
  rows.forEach((row, r) => {
    const baseline = (r * ROW_MM + ROW_MM / 2) * PX_PER_MM;
    const secondsPerLead = row.length === 1 ? SECONDS_PER_COLUMN * 4 : SECONDS_PER_COLUMN;
    row.forEach((lead, c) => {
      const signal = leads[lead];
      const x0 = c * columnMm * PX_PER_MM;
      labels.push(`<text x="${x0 + 6}" y="${baseline - 12 * PX_PER_MM + 14}" class="ecg-label">${escapeHtml(lead)}</text>`);
      if (!signal) return;
      const start = Math.floor(c * SECONDS_PER_COLUMN * rate);
      const count = Math.min(signal.length - start, Math.floor(secondsPerLead * rate));
      if (count <= 1) return;
      // Keep ~2 points per pixel: enough for QRS peaks without a 5,000-point path per lead.
      const pxWidth = secondsPerLead * 25 * PX_PER_MM;
      const step = Math.max(1, Math.floor(count / (pxWidth * 2)));
      const points: string[] = [];
      for (let k = 0; k < count; k += step) {
        const mv = signal[start + k] ?? 0;
        const x = x0 + (k / rate) * 25 * PX_PER_MM;
        const y = baseline - Math.max(-1.4, Math.min(1.4, mv)) * 10 * PX_PER_MM;
        points.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      }
      traces.push(`<polyline points="${points.join(' ')}" class="ecg-trace"/>`);
    });
  });
  return `<svg class="ecg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="12-lead ECG, 25 mm/s, 10 mm/mV">
<title>12-lead ECG used by the model (25 mm/s, 10 mm/mV)</title>
<rect width="${W}" height="${H}" class="ecg-paper"/><path d="${minor.join('')}" class="ecg-minor"/><path d="${major.join('')}" class="ecg-major"/>
${traces.join('')}${labels.join('')}</svg>`;
}
