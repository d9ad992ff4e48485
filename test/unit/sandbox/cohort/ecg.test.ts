import type { Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { defaultPrevalence } from '../../../../src/sandbox/cohort/cohort-options.js';
import { PAROXYSMAL_AF_SHARE, synthesiseEcg } from '../../../../src/sandbox/cohort/ecg-signal.js';
import { generateCohort } from '../../../../src/sandbox/cohort/index.js';
import { sampleLatentState } from '../../../../src/sandbox/cohort/latent-state.js';
import { createRng } from '../../../../src/sandbox/cohort/seeded-random.js';
import { ecgLeadsFromObservation } from '../../../../src/sandbox/cohort/render-ecg-png.js';
import { ofType, testOptions } from './cohort-test-helpers.js';

/** R peaks of lead II: local maxima above 60 % of the 99th percentile, at least 250 ms apart. */
function rPeaks(signal: Float64Array, sampleRateHz: number): number[] {
  // Remove baseline wander with a 200 ms moving median substitute (moving mean of a 400 ms window).
  const w = Math.round(0.2 * sampleRateHz);
  const detrended = new Float64Array(signal.length);
  for (let i = 0; i < signal.length; i++) {
    let sum = 0;
    let n = 0;
    for (let j = Math.max(0, i - w); j < Math.min(signal.length, i + w); j++) {
      sum += signal[j] as number;
      n++;
    }
    detrended[i] = (signal[i] as number) - sum / n;
  }
  const sorted = [...detrended].sort((a, b) => a - b);
  const threshold = 0.6 * (sorted[Math.floor(sorted.length * 0.99)] as number);
  const peaks: number[] = [];
  for (let i = 1; i < detrended.length - 1; i++) {
    const v = detrended[i] as number;
    if (v > threshold && v >= (detrended[i - 1] as number) && v > (detrended[i + 1] as number)) {
      const last = peaks[peaks.length - 1];
      if (last !== undefined && i - last < 0.25 * sampleRateHz) {
        if (v > (detrended[last] as number)) peaks[peaks.length - 1] = i;
      } else peaks.push(i);
    }
  }
  return peaks;
}

/** Coefficient of variation of successive RR intervals. */
function rrVariation(peaks: number[]): number {
  const rr = peaks.slice(1).map((p, i) => p - (peaks[i] as number));
  const mean = rr.reduce((a, b) => a + b, 0) / rr.length;
  return Math.sqrt(rr.reduce((a, b) => a + (b - mean) ** 2, 0) / rr.length) / mean;
}

describe('ECG Observation', () => {
  const patients = [
    ...generateCohort(testOptions({ patients: 60, seed: 9, imageSize: 64, rates: { image: 1, ecg: 0 } })),
  ];
  const ecgOf = (resources: ReturnType<typeof ofType<'Observation'>>): Observation | undefined =>
    resources.find((o) => o.code.coding?.some((c) => c.code === '11524-6'));

  it('has one MDC-coded component per lead with 5,000 samples of SampledData at 2 ms', () => {
    const observation = ecgOf(ofType(patients[0]?.resources ?? [], 'Observation'));
    expect(observation?.component).toHaveLength(12);
    for (const c of observation?.component ?? []) {
      expect(c.code.coding?.[0]?.system).toBe('urn:oid:2.16.840.1.113883.6.24');
      const sd = c.valueSampledData;
      expect(sd?.period).toBe(2);
      expect(sd?.dimensions).toBe(1);
      expect(sd?.origin.code).toBe('mV');
      const values = sd?.data?.split(' ') ?? [];
      expect(values).toHaveLength(5000);
      expect(values.every((v) => /^-?\d+$/.test(v))).toBe(true);
    }
    expect(observation?.component?.[0]?.code.coding?.[0]?.code).toBe('131329');
  });

  it('recordings in AF have more irregular RR intervals than sinus-rhythm ones (measured from lead II)', () => {
    const af: number[] = [];
    const sinus: number[] = [];
    for (const p of patients) {
      const observation = ecgOf(ofType(p.resources, 'Observation'));
      if (!observation) continue;
      const { leads, periodMs } = ecgLeadsFromObservation(observation);
      const leadII = leads.get('II');
      if (!leadII) continue;
      const cv = rrVariation(rPeaks(leadII, 1000 / periodMs));
      (p.labels.ecgRhythm === 'atrial-fibrillation' ? af : sinus).push(cv);
    }
    expect(af.length).toBeGreaterThanOrEqual(4);
    expect(sinus.length).toBeGreaterThanOrEqual(20);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    // AF: RR coefficient of variation ~0.2; sinus with respiratory arrhythmia: ~0.03.
    expect(median(af)).toBeGreaterThan(2.5 * median(sinus));
    expect(median(af)).toBeGreaterThan(0.1);
  });

  it('writes an ECG report that names the rhythm actually generated', () => {
    for (const p of patients) {
      const report = ofType(p.resources, 'DiagnosticReport').find(
        (r) => r.code.coding?.[0]?.code === '11524-6',
      );
      expect(report?.category?.[0]?.coding?.[0]?.code).toBe('EC');
      expect(report?.conclusion?.includes('Atrial fibrillation')).toBe(p.labels.ecgRhythm === 'atrial-fibrillation');
    }
  });

  it('records AF only in patients who have it, and sinus rhythm in about 40 % of them (paroxysmal AF)', () => {
    const rhythms = { withAf: [] as string[], withoutAf: [] as string[] };
    for (let seed = 1; seed <= 300; seed++) {
      const state = sampleLatentState(createRng(seed), { ...defaultPrevalence, atrialFibrillation: 0.5 });
      const { rhythm } = synthesiseEcg(state, createRng(seed, 1), 2, 100).measurements;
      (state.conditions.atrialFibrillation ? rhythms.withAf : rhythms.withoutAf).push(rhythm);
    }
    expect(rhythms.withoutAf.every((r) => r === 'sinus')).toBe(true);
    const paroxysmal = rhythms.withAf.filter((r) => r === 'sinus').length / rhythms.withAf.length;
    expect(rhythms.withAf.length).toBeGreaterThan(100);
    expect(paroxysmal).toBeGreaterThan(PAROXYSMAL_AF_SHARE - 0.1);
    expect(paroxysmal).toBeLessThan(PAROXYSMAL_AF_SHARE + 0.1);
  });
});
