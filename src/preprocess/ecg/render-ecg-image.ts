import type { ModelEcg } from './to-model-ecg.js';

/** The classic 12-lead print layout: 3 rows × 4 columns of 2.5 s, then a lead II rhythm strip. */
const LAYOUT = [
  ['I', 'aVR', 'V1', 'V4'],
  ['II', 'aVL', 'V2', 'V5'],
  ['III', 'aVF', 'V3', 'V6'],
] as const;
const RHYTHM_LEAD = 'II';
/** Vertical range of one row, in mV (±1.5 mV, roughly a paper ECG's 10 mm/mV in a 30 mm row). */
const ROW_RANGE_MV = 3;

/**
 * Renders a preprocessed ECG (see `toModelEcg`) as a greyscale image [1, H, W] in the standard
 * 3 × 4 layout plus a full-length lead II rhythm strip (4 rows): traces are 1 on a 0 background,
 * each column showing the next quarter of the recording, as on a printed 12-lead ECG. For
 * ECG-as-image models (ViT/CNN encoders trained on printed ECGs). Leads the ECG lacks stay blank.
 */
export function renderEcgImage(ecg: ModelEcg, size: [number, number]): Float32Array {
  const [height, width] = size;
  const image = new Float32Array(height * width);
  const samples = ecg.dims[1];
  const rows = LAYOUT.length + 1;
  const rowHeight = height / rows;
  const leadIndex = new Map(ecg.leads.map((l, i) => [l, i]));
  const draw = (lead: string, row: number, x0: number, x1: number, s0: number, s1: number) => {
    const li = leadIndex.get(lead);
    if (li === undefined || ecg.missingLeads.includes(lead) || s1 <= s0) return;
    const signal = ecg.data.subarray(li * samples + s0, li * samples + s1);
    const mid = (row + 0.5) * rowHeight;
    const toY = (mv: number) => Math.min(Math.floor((row + 1) * rowHeight) - 1, Math.max(Math.ceil(row * rowHeight), Math.round(mid - (mv / ROW_RANGE_MV) * rowHeight)));
    let prevY: number | undefined;
    for (let x = x0; x < x1; x++) {
      // Each pixel column spans a run of samples: draw its min–max, joined to the previous column.
      const a = Math.floor(((x - x0) / (x1 - x0)) * signal.length);
      const b = Math.max(a + 1, Math.floor(((x - x0 + 1) / (x1 - x0)) * signal.length));
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = a; k < b && k < signal.length; k++) {
        const y = toY(signal[k]!);
        if (y < lo) lo = y;
        if (y > hi) hi = y;
      }
      if (!Number.isFinite(lo)) continue;
      if (prevY !== undefined) {
        lo = Math.min(lo, prevY);
        hi = Math.max(hi, prevY);
      }
      for (let y = lo; y <= hi; y++) image[y * width + x] = 1;
      prevY = toY(signal[Math.min(b, signal.length) - 1]!);
    }
  };
  const columns = LAYOUT[0].length;
  LAYOUT.forEach((leads, row) => {
    leads.forEach((lead, col) => {
      const x0 = Math.round((col * width) / columns);
      const x1 = Math.round(((col + 1) * width) / columns);
      draw(lead, row, x0, x1, Math.floor((col * samples) / columns), Math.floor(((col + 1) * samples) / columns));
    });
  });
  draw(RHYTHM_LEAD, LAYOUT.length, 0, width, 0, samples);
  return image;
}
