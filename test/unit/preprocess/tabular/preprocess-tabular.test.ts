import type { Observation, Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { preprocessTabular, type TabularSpec } from '../../../../src/preprocess/tabular/preprocess-tabular.js';
import { createUcumConverter } from '../../../../src/preprocess/tabular/unit-conversion.js';

const asOf = new Date('2024-05-01T12:00:00Z');
const convertUnit = createUcumConverter();

const spec: TabularSpec = {
  lookbackHours: 48,
  features: [
    { name: 'glucose', loinc: ['2339-0', '15074-8'], unit: 'mg/dL', molecularWeight: 180.156, aggregate: 'last', plausible: { min: 10, max: 2000 }, mean: 100, std: 20 },
    { name: 'creatinine', loinc: ['2160-0', '14682-9'], unit: 'mg/dL', molecularWeight: 113.12, aggregate: 'max', plausible: { min: 0.1, max: 25 }, mean: 1, std: 0.5 },
    { name: 'systolic_bp', loinc: ['8480-6'], unit: 'mm[Hg]', aggregate: 'mean', plausible: { min: 40, max: 300 }, mean: 120, std: 20 },
    { name: 'heart_rate_trend', loinc: ['8867-4'], unit: '/min', aggregate: 'trend', plausible: { min: 20, max: 300 }, mean: 0, std: 1 },
    { name: 'heart_rate_min', loinc: ['8867-4'], unit: '/min', aggregate: 'min', plausible: { min: 20, max: 300 }, mean: 80, std: 15 },
    { name: 'age_years', loinc: [], unit: 'a', source: 'age', aggregate: 'last', plausible: { min: 0, max: 130 }, mean: 50, std: 20 },
    { name: 'sex_female', loinc: [], unit: '1', source: 'sex', aggregate: 'last', plausible: { min: 0, max: 1 }, mean: 0.5, std: 0.5 },
  ],
};

const patient: Patient = { resourceType: 'Patient', id: 'p1', meta: { versionId: '3' }, birthDate: '1964-05-01', gender: 'female' };

let seq = 0;
function quantityObs(loinc: string, value: number, unit: string, time: string, extra: Partial<Observation> = {}): Observation {
  seq++;
  return {
    resourceType: 'Observation',
    id: `o${seq}`,
    meta: { versionId: '1' },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: loinc }] },
    effectiveDateTime: time,
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
    ...extra,
  };
}

function feature(result: ReturnType<typeof preprocessTabular>, name: string) {
  const i = spec.features.findIndex((f) => f.name === name);
  return { ...result.features[i]!, norm: result.values[i]!, mask: result.mask[i]! };
}

describe('preprocessTabular', () => {
  it('converts glucose mmol/L to mg/dL through UCUM with the molecular weight', () => {
    const r = preprocessTabular([quantityObs('15074-8', 5.5, 'mmol/L', '2024-05-01T08:00:00Z')], patient, spec, asOf, { convertUnit });
    const g = feature(r, 'glucose');
    expect(g.present).toBe(true);
    expect(g.value).toBeCloseTo(99.09, 1);
    expect(g.norm).toBeCloseTo((99.0858 - 100) / 20, 3);
    expect(g.sources).toEqual([{ resourceType: 'Observation', id: `o${seq}`, versionId: '1' }]);
  });

  it('converts creatinine umol/L to mg/dL and takes the max', () => {
    const r = preprocessTabular(
      [quantityObs('14682-9', 88.4, 'umol/L', '2024-05-01T01:00:00Z'), quantityObs('2160-0', 1.4, 'mg/dL', '2024-04-30T20:00:00Z')],
      patient, spec, asOf, { convertUnit },
    );
    expect(feature(r, 'creatinine').value).toBeCloseTo(1.4, 6);
    const only = preprocessTabular([quantityObs('14682-9', 176.8, 'umol/L', '2024-05-01T01:00:00Z')], patient, spec, asOf, { convertUnit });
    expect(feature(only, 'creatinine').value).toBeCloseTo(2.0, 2);
  });

  it('reads blood pressure panel components', () => {
    const panel: Observation = {
      resourceType: 'Observation', id: 'bp', status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      effectiveDateTime: '2024-05-01T10:00:00Z',
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 150, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 90, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      ],
    };
    const r = preprocessTabular([panel, quantityObs('8480-6', 130, 'mm[Hg]', '2024-05-01T11:00:00Z')], patient, spec, asOf, { convertUnit });
    const sbp = feature(r, 'systolic_bp');
    expect(sbp.value).toBeCloseTo(140, 6);
    expect(sbp.sources.map((s) => s.id).sort()).toEqual(['bp', `o${seq}`].sort());
  });

  it('uses only final/amended/corrected results inside the look-back window', () => {
    const r = preprocessTabular(
      [
        quantityObs('2339-0', 300, 'mg/dL', '2024-05-01T11:00:00Z', { status: 'preliminary' }),
        quantityObs('2339-0', 310, 'mg/dL', '2024-05-01T11:30:00Z', { status: 'entered-in-error' }),
        quantityObs('2339-0', 320, 'mg/dL', '2024-04-20T11:00:00Z'),
        quantityObs('2339-0', 330, 'mg/dL', '2024-05-02T11:00:00Z'),
        quantityObs('2339-0', 120, 'mg/dL', '2024-04-30T12:00:00Z', { status: 'amended' }),
      ],
      patient, spec, asOf, { convertUnit },
    );
    expect(feature(r, 'glucose').value).toBe(120);
  });

  it('rejects physiologically impossible values with a reason free of the value', () => {
    const r = preprocessTabular([quantityObs('8867-4', 900, '/min', '2024-05-01T10:00:00Z')], patient, spec, asOf, { convertUnit });
    const hr = feature(r, 'heart_rate_min');
    expect(hr.present).toBe(false);
    expect(hr.mask).toBe(0);
    expect(hr.norm).toBe(0);
    expect(hr.rejected).toMatch(/outside plausible range/);
    expect(hr.rejected).not.toContain('900');
  });

  it('names units UCUM cannot convert', () => {
    const r = preprocessTabular([quantityObs('2339-0', 5, 'kg', '2024-05-01T10:00:00Z')], patient, spec, asOf, { convertUnit });
    expect(feature(r, 'glucose').present).toBe(false);
    expect(feature(r, 'glucose').rejected).toContain("'kg'");
  });

  it('computes the least-squares trend per hour', () => {
    const r = preprocessTabular(
      [
        quantityObs('8867-4', 80, '/min', '2024-05-01T08:00:00Z'),
        quantityObs('8867-4', 90, '/min', '2024-05-01T10:00:00Z'),
        quantityObs('8867-4', 100, '/min', '2024-05-01T12:00:00Z'),
      ],
      patient, spec, asOf, { convertUnit },
    );
    expect(feature(r, 'heart_rate_trend').value).toBeCloseTo(5, 9);
    expect(feature(r, 'heart_rate_min').value).toBe(80);
    const single = preprocessTabular([quantityObs('8867-4', 80, '/min', '2024-05-01T08:00:00Z')], patient, spec, asOf, { convertUnit });
    expect(feature(single, 'heart_rate_trend').present).toBe(false);
  });

  it('takes age and sex from the Patient', () => {
    const r = preprocessTabular([], patient, spec, asOf, { convertUnit });
    expect(feature(r, 'age_years').value).toBeCloseTo(60, 1);
    expect(feature(r, 'sex_female').value).toBe(1);
    expect(feature(r, 'sex_female').sources).toEqual([{ resourceType: 'Patient', id: 'p1', versionId: '3' }]);
    const unknown = preprocessTabular([], { resourceType: 'Patient', gender: 'unknown' }, spec, asOf, { convertUnit });
    expect(feature(unknown, 'sex_female').present).toBe(false);
    expect(feature(unknown, 'age_years').present).toBe(false);
    expect(Array.from(unknown.mask)).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('never throws on malformed resources', () => {
    const junk = [
      { resourceType: 'Observation', status: 'final' },
      { resourceType: 'Observation', status: 'final', code: {}, effectiveDateTime: 'not a date', valueQuantity: { value: 'x' } },
      null,
    ] as unknown as Observation[];
    const r = preprocessTabular(junk, { resourceType: 'Patient', birthDate: 'garbage' }, spec, asOf, { convertUnit });
    expect(r.values).toHaveLength(spec.features.length);
  });
});
