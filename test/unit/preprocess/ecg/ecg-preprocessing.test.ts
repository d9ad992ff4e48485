import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ecgFromDicomWaveform } from '../../../../src/preprocess/ecg/ecg-from-dicom-waveform.js';
import { ecgFromObservation } from '../../../../src/preprocess/ecg/ecg-from-observation.js';
import { deriveLimbLeads, leadFromCode, STANDARD_LEADS } from '../../../../src/preprocess/ecg/ecg-leads.js';
import { renderEcgImage } from '../../../../src/preprocess/ecg/render-ecg-image.js';
import { parseSampledData } from '../../../../src/preprocess/ecg/sampled-data.js';
import { removeBaselineWander, resampleSignal } from '../../../../src/preprocess/ecg/signal-filters.js';
import { toModelEcg } from '../../../../src/preprocess/ecg/to-model-ecg.js';
import { createUcumConverter } from '../../../../src/preprocess/tabular/unit-conversion.js';
import { thirdPartyFixture } from '../../../helpers/fixtures.js';
import { readWfdbRecord, wfdbToObservation } from '../../../helpers/wfdb.js';

const convertUnit = createUcumConverter();
const spec = { sampleRateHz: 500, durationSeconds: 10, leads: [...STANDARD_LEADS] };

function median(values: ArrayLike<number>): number {
  const s = Array.from(values).sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function leadRow(data: Float32Array, row: number, samples: number): Float32Array {
  return data.subarray(row * samples, (row + 1) * samples);
}

describe('parseSampledData (FHIR R4 §2.24.0.17)', () => {
  it('applies origin + factor × value, E/L/U and de-interleaves dimensions', () => {
    const r = parseSampledData({ origin: { value: 10, code: 'mV' }, period: 2, factor: 0.5, lowerLimit: -1, upperLimit: 99, dimensions: 2, data: '0 2 4 E L U' });
    if (!r.ok) throw new Error(r.detail);
    expect(Array.from(r.value.channels[0]!)).toEqual([10, 12, -1]);
    expect(Array.from(r.value.channels[1]!)).toEqual([11, NaN, 99]);
    expect(r.value.periodMs).toBe(2);
    expect(r.value.unit).toBe('mV');
  });

  it('returns typed failures with element paths', () => {
    expect(parseSampledData({ origin: { value: 0 }, period: 1, dimensions: 2, data: '1 2 3' })).toMatchObject({ ok: false, reason: 'invalid-value', detail: expect.stringContaining('valueSampledData.data') });
    expect(parseSampledData({ origin: { value: 0 }, period: 0, dimensions: 1, data: '1' })).toMatchObject({ ok: false, detail: 'valueSampledData.period must be a positive number' });
    expect(parseSampledData({ origin: { value: 0 }, period: 1, dimensions: 1, data: '1 x' }).ok).toBe(false);
    expect(parseSampledData({ origin: { value: 0 }, period: 1, dimensions: 1, data: 'L' })).toMatchObject({ ok: true });
  });
});

describe('lead codes and derived leads', () => {
  it('maps MDC, DICOM and SCP-ECG lead codes', () => {
    expect(leadFromCode('urn:oid:2.16.840.1.113883.6.24', '131329')).toBe('I');
    expect(leadFromCode('urn:oid:2.16.840.1.113883.6.24', '131392')).toBe('aVF');
    expect(leadFromCode('MDC', '2:61')).toBe('III');
    expect(leadFromCode('SCPECG', '5.6.3-9-8')).toBe('V6');
  });

  it('derives III, aVR, aVL, aVF from I and II', () => {
    const d = deriveLimbLeads({ I: Float64Array.from([1]), II: Float64Array.from([3]) });
    expect([d.III![0], d.aVR![0], d.aVL![0], d.aVF![0]]).toEqual([2, -2, -0.5, 2.5]);
  });
});

describe('signal filters', () => {
  it('low-passes before downsampling: a tone above the new Nyquist is removed, one below kept', () => {
    const fs = 1000;
    const n = 4000;
    const tone = (hz: number) => Float64Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * hz * i) / fs));
    const rms = (x: Float64Array) => Math.sqrt(x.slice(200, -200).reduce((s, v) => s + v * v, 0) / (x.length - 400));
    expect(rms(resampleSignal(tone(400), fs, 500))).toBeLessThan(0.02); // would alias to 100 Hz
    expect(rms(resampleSignal(tone(40), fs, 500))).toBeCloseTo(Math.SQRT1_2, 2);
  });

  it('removes baseline wander but keeps QRS-band content', () => {
    const fs = 500;
    const x = Float64Array.from({ length: 5000 }, (_, i) => 2 + Math.sin((2 * Math.PI * 0.1 * i) / fs) + 0.5 * Math.sin((2 * Math.PI * 10 * i) / fs));
    const y = removeBaselineWander(x, fs);
    const mid = y.slice(500, 4500);
    expect(Math.abs(mid.reduce((s, v) => s + v, 0) / mid.length)).toBeLessThan(0.02);
    expect(Math.max(...mid)).toBeCloseTo(0.5, 1);
  });
});

describe('PTB record s0010_re (WFDB → FHIR SampledData → model)', () => {
  const record = readWfdbRecord(thirdPartyFixture('ecg-wfdb', 's0010_re.hea'));
  const obs = wfdbToObservation(record, 12);

  it('reads 12 leads at 1000 Hz from the Observation', () => {
    const leads = ecgFromObservation(obs, { convertUnit });
    if (!leads.ok) throw new Error(leads.detail);
    expect(leads.value.sampleRateHz).toBeCloseTo(1000, 9);
    expect(Object.keys(leads.value.leads).sort()).toEqual([...STANDARD_LEADS].sort());
    expect(leads.value.leads.I!.length).toBe(12_000);
  });

  it('gives 12 × 5000 at 500 Hz with plausible amplitudes and baseline removed', () => {
    const leads = ecgFromObservation(obs, { convertUnit });
    if (!leads.ok) throw new Error(leads.detail);
    const model = toModelEcg(leads.value, spec);
    if (!model.ok) throw new Error(model.detail);
    expect(model.value.dims).toEqual([12, 5000]);
    expect(model.value.missingLeads).toEqual([]);
    let largest = 0;
    for (const [row, lead] of spec.leads.entries()) {
      const values = Array.from(leadRow(model.value.data, row, 5000));
      const peakToPeak = Math.max(...values) - Math.min(...values);
      largest = Math.max(largest, ...values.map(Math.abs));
      // QRS complexes of a few tenths to a few mV in every lead; isoelectric baseline near 0.
      expect(peakToPeak, lead).toBeGreaterThan(0.4);
      expect(peakToPeak, lead).toBeLessThan(4);
      expect(Math.abs(median(values)), lead).toBeLessThan(0.06);
    }
    expect(largest).toBeGreaterThan(0.5);
    expect(largest).toBeLessThan(3);
  });

  it('derives missing limb leads when only I and II are sent', () => {
    const onlyTwo = { ...obs, component: obs.component!.filter((c) => ['i', 'ii'].includes(c.code.text!)) };
    const leads = ecgFromObservation(onlyTwo, { convertUnit });
    if (!leads.ok) throw new Error(leads.detail);
    const model = toModelEcg(leads.value, spec);
    if (!model.ok) throw new Error(model.detail);
    expect(model.value.missingLeads).toEqual(['V1', 'V2', 'V3', 'V4', 'V5', 'V6']);
    const iii = leadRow(model.value.data, 2, 5000);
    expect(Math.max(...Array.from(iii, Math.abs))).toBeGreaterThan(0.05);
  });

  it('renders the 3 × 4 + rhythm layout', () => {
    const leads = ecgFromObservation(obs, { convertUnit });
    if (!leads.ok) throw new Error(leads.detail);
    const model = toModelEcg(leads.value, spec);
    if (!model.ok) throw new Error(model.detail);
    const [h, w] = [256, 512];
    const img = renderEcgImage(model.value, [h, w]);
    expect(img).toHaveLength(h * w);
    const inked = img.reduce((s, v) => s + v, 0) / img.length;
    expect(inked).toBeGreaterThan(0.01);
    expect(inked).toBeLessThan(0.3);
    // Every one of the 4 bands × 4 columns has a trace.
    for (let band = 0; band < 4; band++) {
      for (let col = 0; col < 4; col++) {
        let ink = 0;
        for (let y = (band * h) / 4; y < ((band + 1) * h) / 4; y++) for (let x = (col * w) / 4; x < ((col + 1) * w) / 4; x++) ink += img[y * w + x]!;
        expect(ink, `band ${band} column ${col}`).toBeGreaterThan(20);
      }
    }
  });
});

describe('DICOM 12-lead waveforms', () => {
  it.each([
    ['ecg_12_lead_anon.dcm', 1000, 10_000],
    ['waveform_ecg_synthetic_12_lead.dcm', 500, 2000],
  ])('%s reads 12 named leads in mV', (file, fs, samples) => {
    const r = ecgFromDicomWaveform(new Uint8Array(readFileSync(thirdPartyFixture('dicom', file))), { convertUnit });
    if (!r.ok) throw new Error(r.detail);
    expect(r.value.sampleRateHz).toBe(fs);
    expect(Object.keys(r.value.leads).sort()).toEqual([...STANDARD_LEADS].sort());
    expect(r.value.leads.II!.length).toBe(samples);
    const model = toModelEcg(r.value, spec);
    if (!model.ok) throw new Error(model.detail);
    const ii = leadRow(model.value.data, 1, 5000);
    const peak = Math.max(...Array.from(ii.subarray(0, Math.min(5000, (samples / fs) * 500)), Math.abs));
    expect(peak).toBeGreaterThan(0.3);
    expect(peak).toBeLessThan(5);
  });

  it('fails cleanly on non-waveform DICOM and junk', () => {
    expect(ecgFromDicomWaveform(new Uint8Array(readFileSync(thirdPartyFixture('dicom', 'CR-MONO1-10-chest.dcm'))))).toMatchObject({ ok: false, reason: 'unsupported-format' });
    expect(ecgFromDicomWaveform(new Uint8Array(10)).ok).toBe(false);
  });
});
