import type { Observation } from '@medplum/fhirtypes';
import { createRgbCanvas, type Rgb } from '../../raster/rgb-canvas.js';
import { mdcLeadCodes, mdcSystem } from './ecg-observation.js';
import type { EcgLeadName } from './ecg-signal.js';
import { ecgLeadNames } from './ecg-signal.js';

/** 5×7 bitmaps of the characters lead labels use. */
const glyphs: Record<string, string[]> = {
  I: ['01110', '00100', '00100', '00100', '00100', '00100', '01110'],
  V: ['10001', '10001', '10001', '10001', '10001', '01010', '00100'],
  R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  L: ['10000', '10000', '10000', '10000', '10000', '10000', '11111'],
  F: ['11111', '10000', '10000', '11110', '10000', '10000', '10000'],
  a: ['00000', '00000', '01110', '00001', '01111', '10001', '01111'],
  '1': ['00100', '01100', '00100', '00100', '00100', '00100', '01110'],
  '2': ['01110', '10001', '00001', '00010', '00100', '01000', '11111'],
  '3': ['11111', '00010', '00100', '00010', '00001', '10001', '01110'],
  '4': ['00010', '00110', '01010', '10010', '11111', '00010', '00010'],
  '5': ['11111', '10000', '11110', '00001', '00001', '10001', '01110'],
  '6': ['00110', '01000', '10000', '11110', '10001', '10001', '01110'],
};

/** Leads of a FHIR ECG Observation as mV arrays, keyed by lead name (MDC component codes). */
export function ecgLeadsFromObservation(observation: Observation): {
  leads: Map<EcgLeadName, Float64Array>;
  periodMs: number;
} {
  const byCode = new Map<string, EcgLeadName>(ecgLeadNames.map((l) => [mdcLeadCodes[l].code, l]));
  const leads = new Map<EcgLeadName, Float64Array>();
  let periodMs = 2;
  for (const c of observation.component ?? []) {
    const coding = c.code.coding?.find(
      (x) => x.system === mdcSystem && x.code !== undefined && byCode.has(x.code),
    );
    const sd = c.valueSampledData;
    if (!coding?.code || !sd?.data) continue;
    const factor = sd.factor ?? 1;
    const origin = sd.origin.value ?? 0;
    const raw = sd.data.trim().split(/\s+/);
    const values = new Float64Array(raw.length);
    // SampledData "E", "U", "L" (error, above, below limits) become the origin: a flat segment.
    raw.forEach((r, i) => {
      const n = Number(r);
      values[i] = Number.isFinite(n) ? n * factor + origin : origin;
    });
    leads.set(byCode.get(coding.code) as EcgLeadName, values);
    periodMs = sd.period;
  }
  return { leads, periodMs };
}

/**
 * Renders a 12-lead ECG Observation the way an electrocardiograph prints it: 25 mm/s, 10 mm/mV on
 * red ECG paper (1 mm minor and 5 mm major grid), a 3×4 layout of 2.5 s per lead (I aVR V1 V4 /
 * II aVL V2 V5 / III aVF V3 V6) with a 1 mV calibration pulse, and a 10 s lead II rhythm strip.
 */
export function renderEcgPng(observation: Observation, pixelsPerMm = 4): Buffer {
  const { leads, periodMs } = ecgLeadsFromObservation(observation);
  const mm = pixelsPerMm;
  const rowHeightMm = 30;
  const leftMm = 10;
  const widthMm = leftMm + 250 + 5;
  const heightMm = 4 * rowHeightMm + 10;
  const width = Math.round(widthMm * mm);
  const height = Math.round(heightMm * mm);
  const canvas = createRgbCanvas(width, height, [255, 246, 244]);
  const ink: Rgb = [20, 20, 20];
  const gridMajor: Rgb = [236, 150, 150];
  const gridMinor: Rgb = [250, 210, 210];
  for (let xmm = 0; xmm <= widthMm; xmm++) {
    const x = Math.round(xmm * mm);
    const colour = xmm % 5 === 0 ? gridMajor : gridMinor;
    for (let y = 0; y < height; y++) canvas.set(x, y, colour);
  }
  for (let ymm = 0; ymm <= heightMm; ymm++) {
    const y = Math.round(ymm * mm);
    const colour = ymm % 5 === 0 ? gridMajor : gridMinor;
    for (let x = 0; x < width; x++) canvas.set(x, y, colour);
  }
  // 2 px thick (a 1×2 brush) for legibility.
  const line = (x0: number, y0: number, x1: number, y1: number) =>
    canvas.line(x0, y0, x1, y1, ink, { brush: [1, 2] });
  const label = (text: string, x: number, y: number) => {
    const px = Math.max(1, Math.round(mm / 2));
    let cx = x;
    for (const ch of text) {
      const glyph = glyphs[ch];
      if (glyph)
        glyph.forEach((row, gy) =>
          [...row].forEach((bit, gx) => {
            if (bit === '1')
              for (let a = 0; a < px; a++)
                for (let b = 0; b < px; b++) canvas.set(cx + gx * px + a, y + gy * px + b, ink);
          }),
        );
      cx += 6 * px;
    }
  };
  const samplesPerSecond = 1000 / periodMs;
  const trace = (lead: EcgLeadName, fromS: number, toS: number, xStartMm: number, baselineMm: number) => {
    const values = leads.get(lead);
    if (!values) return;
    const from = Math.floor(fromS * samplesPerSecond);
    const to = Math.min(values.length, Math.floor(toS * samplesPerSecond));
    let px: number | undefined;
    let py: number | undefined;
    for (let s = from; s < to; s++) {
      const x = (xStartMm + ((s - from) / samplesPerSecond) * 25) * mm;
      const y = (baselineMm - (values[s] as number) * 10) * mm;
      if (px !== undefined && py !== undefined) line(px, py, x, y);
      px = x;
      py = y;
    }
  };
  const calibration = (baselineMm: number) => {
    const x0 = 2 * mm;
    const b = baselineMm * mm;
    line(x0, b, x0 + 1 * mm, b);
    line(x0 + 1 * mm, b, x0 + 1 * mm, b - 10 * mm);
    line(x0 + 1 * mm, b - 10 * mm, x0 + 6 * mm, b - 10 * mm);
    line(x0 + 6 * mm, b - 10 * mm, x0 + 6 * mm, b);
    line(x0 + 6 * mm, b, x0 + 7 * mm, b);
  };
  const layout: EcgLeadName[][] = [
    ['I', 'aVR', 'V1', 'V4'],
    ['II', 'aVL', 'V2', 'V5'],
    ['III', 'aVF', 'V3', 'V6'],
  ];
  layout.forEach((row, r) => {
    const baseline = 5 + rowHeightMm * r + rowHeightMm / 2;
    calibration(baseline);
    row.forEach((lead, c) => {
      const x = leftMm + c * 62.5;
      trace(lead, c * 2.5, (c + 1) * 2.5, x, baseline);
      label(lead, Math.round((x + 1) * mm), Math.round((baseline - 12) * mm));
      if (c > 0) line(x * mm, (baseline - 3) * mm, x * mm, (baseline + 3) * mm);
    });
  });
  const rhythmBaseline = 5 + rowHeightMm * 3 + rowHeightMm / 2;
  calibration(rhythmBaseline);
  trace('II', 0, 10, leftMm, rhythmBaseline);
  label('II', Math.round((leftMm + 1) * mm), Math.round((rhythmBaseline - 12) * mm));
  return canvas.toPng();
}
