import type { ModalityPreprocessing } from '../../contracts/manifest-types.js';
import { fail, ok, type PreprocessResult } from '../result.js';
import { deriveLimbLeads, normaliseLeadName, type EcgLeads } from './ecg-leads.js';
import { fillGaps, removeBaselineWander, resampleSignal } from './signal-filters.js';

/** The manifest's ECG preprocessing section. */
export type EcgSpec = NonNullable<ModalityPreprocessing['ecg']>;

/** Model-ready ECG: `data` is [leads, samples] row-major in mV, leads in `spec.leads` order. */
export interface ModelEcg {
  dims: [number, number];
  data: Float32Array;
  leads: string[];
  sampleRateHz: number;
  /** Leads the model wants that the recording lacked (rows left at zero). */
  missingLeads: string[];
}

/**
 * Prepares an ECG for the model: lead names normalised; III, aVR, aVL, aVF derived from I and II
 * when absent; gaps (NaN) interpolated; resampled to `spec.sampleRateHz` with a band-limited
 * (Kaiser-windowed sinc) resampler that low-passes before downsampling; baseline wander removed
 * by a zero-phase 0.5 Hz high-pass; cropped (from the start) or zero-padded to
 * `spec.durationSeconds`. Fails only when none of the requested leads can be built.
 */
export function toModelEcg(ecg: EcgLeads, spec: Pick<EcgSpec, 'sampleRateHz' | 'durationSeconds' | 'leads'>): PreprocessResult<ModelEcg> {
  if (!(ecg.sampleRateHz > 0) || !(spec.sampleRateHz > 0)) return fail('invalid-value', 'sample rate must be positive');
  const named: Record<string, Float64Array> = {};
  for (const [name, values] of Object.entries(ecg.leads)) {
    const lead = normaliseLeadName(name) ?? name;
    const { filled, valid } = fillGaps(values);
    if (valid > 0) named[lead] ??= filled;
  }
  const all = deriveLimbLeads(named);
  const samples = Math.round(spec.durationSeconds * spec.sampleRateHz);
  const data = new Float32Array(spec.leads.length * samples);
  const missingLeads: string[] = [];
  spec.leads.forEach((wanted, row) => {
    const source = all[normaliseLeadName(wanted) ?? wanted];
    if (!source) {
      missingLeads.push(wanted);
      return;
    }
    const resampled = resampleSignal(source, ecg.sampleRateHz, spec.sampleRateHz);
    const clean = removeBaselineWander(resampled, spec.sampleRateHz);
    const n = Math.min(samples, clean.length);
    for (let k = 0; k < n; k++) data[row * samples + k] = clean[k]!;
  });
  if (missingLeads.length === spec.leads.length) return fail('invalid-value', 'none of the model\'s leads is in the recording');
  return ok({ dims: [spec.leads.length, samples], data, leads: [...spec.leads], sampleRateHz: spec.sampleRateHz, missingLeads });
}
