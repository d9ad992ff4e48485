import type { Observation, SampledData } from '@medplum/fhirtypes';
import { describe, expect, it, vi } from 'vitest';
import type { EcgInputContract, ModelManifest } from '../../../src/contracts/manifest-types.js';
import { checkEcgContract } from '../../../src/preprocess/ecg/ecg-input-contract.js';
import { ecgFromObservation } from '../../../src/preprocess/ecg/ecg-from-observation.js';
import { STANDARD_LEADS } from '../../../src/preprocess/ecg/ecg-leads.js';
import { checkImageContract } from '../../../src/preprocess/imaging/image-input-contract.js';
import { preprocessTabular } from '../../../src/preprocess/tabular/preprocess-tabular.js';
import { createUcumConverter } from '../../../src/preprocess/tabular/unit-conversion.js';

const convertUnit = createUcumConverter();
const MDC = 'urn:oid:2.16.840.1.113883.6.24';
const LEAD_CODE: Record<string, number> = { I: 131329, II: 131330, V1: 131331, V2: 131332, V3: 131333, V4: 131334, V5: 131335, V6: 131336, III: 131389, aVR: 131390, aVL: 131391, aVF: 131392 };
const contract: EcgInputContract = { requiredLeads: [...STANDARD_LEADS], minDurationSeconds: 8, maxAbsMv: 10, minPeakToPeakMv: 0.05, maxSaturatedFraction: 0.01 };

/** A plausible lead in µV: 72/min QRS-like spikes on a small T wave, amplitude scaled per lead. */
function leadMicrovolts(lead: string, samples: number, rateHz: number): number[] {
  const gain = 0.5 + (LEAD_CODE[lead]! % 7) / 7;
  return Array.from({ length: samples }, (_, k) => {
    const t = k / rateHz;
    const phase = (t * 1.2) % 1;
    const qrs = Math.exp(-(((phase - 0.3) / 0.012) ** 2)) * 1000;
    const tw = Math.exp(-(((phase - 0.6) / 0.05) ** 2)) * 200;
    return Math.round(gain * (qrs + tw) - 100);
  });
}

function ecgObservation(leads: Record<string, number[]>, sd: Partial<SampledData> = {}): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '11524-6' }] },
    component: Object.entries(leads).map(([lead, values]) => ({
      code: { coding: [{ system: MDC, code: String(LEAD_CODE[lead]) }] },
      valueSampledData: { origin: { value: 0, unit: 'uV', system: 'http://unitsofmeasure.org', code: 'uV' }, period: 2, dimensions: 1, data: values.join(' '), ...sd },
    })),
  };
}

const twelve = (samples = 5000) => Object.fromEntries(STANDARD_LEADS.map((l) => [l, leadMicrovolts(l, samples, 500)]));

function contractOf(obs: Observation) {
  const leads = ecgFromObservation(obs, { convertUnit });
  return leads.ok ? checkEcgContract(leads.value, contract) : leads;
}

describe('ECG input contract', () => {
  it('accepts a plausible 10 s 12-lead recording', () => {
    expect(contractOf(ecgObservation(twelve()))).toEqual({ ok: true, value: undefined });
  });

  it('refuses a unit-less SampledData origin instead of guessing mV', () => {
    const obs = ecgObservation(twelve(), { origin: { value: 0 } });
    expect(contractOf(obs)).toEqual({ ok: false, reason: 'invalid-value', detail: 'ECG not usable: Observation.component[0].valueSampledData.origin has no unit (code or unit), so the amplitude cannot be interpreted' });
  });

  it('the R4 specification ECG example (3 leads, 10 ms, origin 2048 without unit, factor 1.612, 116 samples) is not usable', () => {
    // Shape of https://hl7.org/fhir/R4/observation-example-sample-data.html (values generated here).
    const digits = (seed: number) => Array.from({ length: 116 }, (_, k) => 2000 + Math.round(60 * Math.sin((k + seed) / 5))).join(' ');
    const obs: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: MDC, code: '131328', display: 'MDC_ECG_ELEC_POTL' }] },
      component: ['I', 'II', 'III'].map((lead, i) => ({
        code: { coding: [{ system: MDC, code: String(LEAD_CODE[lead]) }] },
        valueSampledData: { origin: { value: 2048 }, period: 10, factor: 1.612, lowerLimit: -3300, upperLimit: 3300, dimensions: 1, data: digits(i * 7) },
      })),
    };
    const r = contractOf(obs);
    expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/^ECG not usable: /) });
    // With a unit, the same recording is still refused: 3 leads are not 12, and 1.16 s is not 8 s.
    const withUnit = { ...obs, component: obs.component!.map((c) => ({ ...c, valueSampledData: { ...c.valueSampledData!, origin: { value: 2048, code: 'uV', unit: 'uV' } } })) };
    expect(contractOf(withUnit)).toEqual({ ok: false, reason: 'outside-input-contract', detail: 'ECG not usable: 3 lead(s) recorded, the model needs 12; missing V1, V2, V3, V4, V5, V6' });
  });

  it('a 3-lead ECG is not a 12-lead one, even though the limb leads can be derived', () => {
    const leads = twelve();
    const three = { I: leads.I!, II: leads.II!, III: leads.III! };
    expect(contractOf(ecgObservation(three))).toMatchObject({ ok: false, reason: 'outside-input-contract', detail: expect.stringContaining('missing V1, V2, V3, V4, V5, V6') });
    const limbFromTwo = { ...leads };
    delete limbFromTwo.III;
    delete limbFromTwo.aVR;
    expect(contractOf(ecgObservation(limbFromTwo)).ok).toBe(true);
  });

  it('refuses a recording shorter than the minimum duration', () => {
    expect(contractOf(ecgObservation(twelve(2000)))).toEqual({ ok: false, reason: 'outside-input-contract', detail: 'ECG not usable: shorter than the 8 s the model needs' });
  });

  it('refuses a 50 mV lead, a clipped lead and a flat line, naming the lead', () => {
    const big = twelve();
    big.V2 = big.V2!.map((v) => v * 60);
    expect(contractOf(ecgObservation(big))).toMatchObject({ ok: false, reason: 'outside-input-contract', detail: expect.stringContaining('lead V2 exceeds the ±10 mV plausible range') });
    const saturated = twelve();
    saturated.V3 = saturated.V3!.map((v) => Math.max(-50_000, Math.min(50_000, v * 500)));
    expect(contractOf(ecgObservation(saturated))).toMatchObject({ ok: false, detail: expect.stringContaining('lead V3 exceeds') });
    const clipped = twelve();
    clipped.V4 = clipped.V4!.map((v) => Math.max(-150, Math.min(150, v)));
    expect(contractOf(ecgObservation(clipped))).toMatchObject({ ok: false, detail: expect.stringMatching(/lead V4 is saturated/) });
    const flat = twelve();
    flat.V5 = flat.V5!.map(() => 12);
    expect(contractOf(ecgObservation(flat))).toMatchObject({ ok: false, detail: expect.stringContaining('lead V5 is a flat line') });
  });
});

describe('image input contract', () => {
  const spec: NonNullable<ModelManifest['preprocessing']['image']> = { lookbackHours: 720, modalities: ['CR', 'DX'], bodyPart: 'CHEST', bodyParts: ['CHEST'], viewPositions: ['PA', 'AP'], allowMissingTags: [], size: [64, 64], mean: 0, std: 1 };

  it('accepts a PA chest CR, case-insensitively', () => {
    expect(checkImageContract({ modality: 'CR', bodyPartExamined: 'chest', viewPosition: 'PA' }, spec).ok).toBe(true);
  });

  it.each(['CSPINE', 'KNEE', 'SKULL'])('refuses a %s radiograph by body part', (part) => {
    expect(checkImageContract({ modality: 'DX', bodyPartExamined: part, viewPosition: 'AP' }, spec)).toEqual({ ok: false, reason: 'outside-input-contract', detail: `image not usable: BodyPartExamined (0018,0015) ${part} is not one the model accepts (CHEST)` });
  });

  it('treats a missing Modality or BodyPartExamined as not matching unless the manifest allows it', () => {
    expect(checkImageContract({ bodyPartExamined: 'CHEST', viewPosition: 'PA' }, spec)).toEqual({ ok: false, reason: 'outside-input-contract', detail: 'image not usable: Modality (0008,0060) is missing; the model accepts CR, DX' });
    expect(checkImageContract({ modality: 'CR', viewPosition: 'PA' }, spec)).toMatchObject({ ok: false, detail: expect.stringContaining('BodyPartExamined (0018,0015) is missing') });
    expect(checkImageContract({ modality: 'CR', bodyPartExamined: 'CHEST' }, { ...spec, allowMissingTags: ['ViewPosition'] }).ok).toBe(true);
    expect(checkImageContract({ modality: 'CT', bodyPartExamined: 'CHEST', viewPosition: 'PA' }, spec)).toMatchObject({ ok: false, detail: expect.stringContaining('Modality (0008,0060) CT is not') });
  });

  it('never echoes a non-standard attribute value (could be free text)', () => {
    expect(checkImageContract({ modality: 'CR', bodyPartExamined: 'Mr Smith chest x', viewPosition: 'PA' }, spec)).toMatchObject({ detail: expect.stringContaining('(non-standard value)') });
  });
});

describe('labs in an unexpected unit', () => {
  it('a glucose in mmol/L for a mass-unit feature without molecular weight is rejected by name, not silently used', () => {
    const spec = { lookbackHours: 48, features: [{ name: 'creatinine', loinc: ['2160-0'], unit: 'mg/dL', aggregate: 'last' as const, plausible: { min: 0.1, max: 20 }, mean: 1, std: 0.5 }] };
    const obs: Observation = { resourceType: 'Observation', id: 'c1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '2160-0' }] }, effectiveDateTime: '2025-01-01T10:00:00Z', valueQuantity: { value: 88, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' } };
    const warn = vi.spyOn(process.stderr, 'write');
    const r = preprocessTabular([obs], { resourceType: 'Patient' }, spec, new Date('2025-01-01T12:00:00Z'), { convertUnit });
    expect(r.features[0]).toMatchObject({ present: false, rejected: "unit(s) 'mmol/L' not convertible to 'mg/dL'" });
    expect(r.mask[0]).toBe(0);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('through preprocessRecord with a shipped manifest', () => {
  it('the R4 ECG example becomes a named missing ECG, and the patient is still preprocessed', async () => {
    const { readFileSync } = await import('node:fs');
    const { preprocessRecord } = await import('../../../src/preprocess/preprocess-record.js');
    const manifest = JSON.parse(readFileSync('models/ecg-cnn/1/manifest.json', 'utf8')) as ModelManifest;
    const obs: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: MDC, code: '131328' }] },
      component: ['I', 'II', 'III'].map((lead) => ({
        code: { coding: [{ system: MDC, code: String(LEAD_CODE[lead]) }] },
        valueSampledData: { origin: { value: 2048 }, period: 10, factor: 1.612, dimensions: 1, data: Array.from({ length: 116 }, (_, k) => 2000 + (k % 13)).join(' ') },
      })),
    };
    const missing = { status: 'missing' as const, reason: 'none-in-window' as const, detail: 'none' };
    const out = preprocessRecord(
      { patient: { resourceType: 'Patient', id: 'p' }, asOf: '2025-01-01T00:00:00Z', roundTrips: 0, modalities: { tabular: missing, text: missing, image: missing, ecg: { status: 'present', data: obs, sources: [] } } },
      manifest,
      'models/ecg-cnn/1',
      { convertUnit },
    );
    expect(out.presence.ecg).toBe(false);
    expect(out.missing).toEqual([{ modality: 'ecg', reason: 'invalid-value', detail: expect.stringMatching(/^ECG not usable: .*origin has no unit/) }]);
  });
});
