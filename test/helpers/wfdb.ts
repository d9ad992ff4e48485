import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Observation, ObservationComponent } from '@medplum/fhirtypes';

/** One signal line of a WFDB header (PhysioNet WFDB "header(5)" format). */
export interface WfdbSignal {
  file: string;
  format: number;
  gain: number;
  baseline: number;
  description: string;
}

/** A WFDB record read from format-16 files: raw ADC samples per signal. */
export interface WfdbRecord {
  name: string;
  sampleRateHz: number;
  signals: WfdbSignal[];
  /** ADC values per signal, in header order. */
  samples: Int16Array[];
}

/**
 * Reads a WFDB record whose signals are all in format 16 (16-bit two's complement, little
 * endian, signals sharing a file interleaved sample by sample). Test helper for the PTB
 * Diagnostic ECG Database sample in `test/fixtures/third-party/ecg-wfdb/`.
 */
export function readWfdbRecord(headerPath: string): WfdbRecord {
  const lines = readFileSync(headerPath, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const [name, nsig, fs, nsamp] = lines[0]!.split(/\s+/);
  const signals: WfdbSignal[] = lines.slice(1, 1 + Number(nsig)).map((line) => {
    const f = line.split(/\s+/);
    // Field 3 is "gain(baseline)/units", baseline defaulting to the ADC zero (field 5).
    const gainField = /^([\d.+-eE]+)(?:\(([-\d]+)\))?/.exec(f[2]!)!;
    const adcZero = Number(f[4] ?? 0);
    return { file: f[0]!, format: Number(f[1]), gain: Number(gainField[1]) || 200, baseline: gainField[2] !== undefined ? Number(gainField[2]) : adcZero, description: f.slice(8).join(' ') };
  });
  const byFile = new Map<string, number[]>();
  signals.forEach((s, i) => {
    if (s.format !== 16) throw new Error(`format ${s.format} not supported by this helper`);
    byFile.set(s.file, [...(byFile.get(s.file) ?? []), i]);
  });
  const count = Number(nsamp);
  const samples: Int16Array[] = signals.map(() => new Int16Array(count));
  for (const [file, indices] of byFile) {
    const buf = readFileSync(join(dirname(headerPath), file));
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let t = 0; t < count; t++) {
      indices.forEach((sig, k) => {
        samples[sig]![t] = view.getInt16((t * indices.length + k) * 2, true);
      });
    }
  }
  return { name: name!, sampleRateHz: Number(fs), signals, samples };
}

/** FHIR MDC_ECG_ELEC_POTL_* codes (ISO/IEEE 11073-10101) of the twelve standard leads. */
const MDC_LEAD_CODES: Record<string, { code: string; display: string }> = {
  i: { code: '131329', display: 'MDC_ECG_ELEC_POTL_I' },
  ii: { code: '131330', display: 'MDC_ECG_ELEC_POTL_II' },
  iii: { code: '131389', display: 'MDC_ECG_ELEC_POTL_III' },
  avr: { code: '131390', display: 'MDC_ECG_ELEC_POTL_AVR' },
  avl: { code: '131391', display: 'MDC_ECG_ELEC_POTL_AVL' },
  avf: { code: '131392', display: 'MDC_ECG_ELEC_POTL_AVF' },
  v1: { code: '131331', display: 'MDC_ECG_ELEC_POTL_V1' },
  v2: { code: '131332', display: 'MDC_ECG_ELEC_POTL_V2' },
  v3: { code: '131333', display: 'MDC_ECG_ELEC_POTL_V3' },
  v4: { code: '131334', display: 'MDC_ECG_ELEC_POTL_V4' },
  v5: { code: '131335', display: 'MDC_ECG_ELEC_POTL_V5' },
  v6: { code: '131336', display: 'MDC_ECG_ELEC_POTL_V6' },
};

/**
 * An ECG Observation (as the FHIR R4 "ekg" example: MDC lead codes, one SampledData component
 * per lead) from a WFDB record: origin = −baseline/gain mV, factor = 1/gain, period = 1000/fs ms,
 * data = the raw ADC integers. Signals that are not standard leads (Frank leads) are left out.
 */
export function wfdbToObservation(record: WfdbRecord, seconds?: number): Observation {
  const count = seconds ? Math.min(record.samples[0]!.length, Math.round(seconds * record.sampleRateHz)) : record.samples[0]!.length;
  const component: ObservationComponent[] = [];
  record.signals.forEach((s, i) => {
    const mdc = MDC_LEAD_CODES[s.description.toLowerCase()];
    if (!mdc) return;
    component.push({
      code: { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.24', ...mdc }], text: s.description },
      valueSampledData: {
        origin: { value: -s.baseline / s.gain, unit: 'mV', system: 'http://unitsofmeasure.org', code: 'mV' },
        period: 1000 / record.sampleRateHz,
        factor: 1 / s.gain,
        dimensions: 1,
        data: Array.from(record.samples[i]!.subarray(0, count)).join(' '),
      },
    });
  });
  return {
    resourceType: 'Observation',
    id: `wfdb-${record.name}`,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'procedure' }] }],
    code: { coding: [{ system: 'urn:oid:2.16.840.1.113883.6.24', code: '131328', display: 'MDC_ECG_ELEC_POTL' }] },
    component,
  };
}
