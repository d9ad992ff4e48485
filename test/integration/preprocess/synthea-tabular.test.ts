import { readFileSync } from 'node:fs';
import type { Bundle, Observation, Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { preprocessTabular, type TabularSpec } from '../../../src/preprocess/tabular/preprocess-tabular.js';
import { createUcumConverter } from '../../../src/preprocess/tabular/unit-conversion.js';
import { thirdPartyFixture } from '../../helpers/fixtures.js';

// Real Synthea R4 output: LOINC-coded labs in mg/dL, vitals, blood pressure panels (55284-4)
// with systolic/diastolic components. The spec asks for other units on purpose so UCUM converts.
const spec: TabularSpec = {
  lookbackHours: 24 * 400,
  features: [
    { name: 'glucose_mmol', loinc: ['2339-0'], unit: 'mmol/L', molecularWeight: 180.156, aggregate: 'last', plausible: { min: 0.5, max: 100 }, mean: 5.5, std: 1.5 },
    { name: 'creatinine_umol', loinc: ['38483-4', '2160-0'], unit: 'umol/L', molecularWeight: 113.12, aggregate: 'last', plausible: { min: 5, max: 2500 }, mean: 90, std: 30 },
    { name: 'weight_lb', loinc: ['29463-7'], unit: '[lb_av]', aggregate: 'last', plausible: { min: 1, max: 1500 }, mean: 170, std: 40 },
    { name: 'systolic_bp', loinc: ['8480-6'], unit: 'mm[Hg]', aggregate: 'max', plausible: { min: 40, max: 300 }, mean: 120, std: 20 },
    { name: 'diastolic_bp', loinc: ['8462-4'], unit: 'kPa', aggregate: 'mean', plausible: { min: 2, max: 30 }, mean: 10.7, std: 1.5 },
    { name: 'age_years', loinc: [], unit: 'a', source: 'age', aggregate: 'last', plausible: { min: 0, max: 130 }, mean: 50, std: 20 },
  ],
};

function load(file: string): { patient: Patient; observations: Observation[] } {
  const bundle = JSON.parse(readFileSync(thirdPartyFixture('synthea-r4', file), 'utf8')) as Bundle;
  const resources = (bundle.entry ?? []).map((e) => e.resource);
  return {
    patient: resources.find((r): r is Patient => r?.resourceType === 'Patient')!,
    observations: resources.filter((r): r is Observation => r?.resourceType === 'Observation'),
  };
}

function lastValue(observations: Observation[], code: string): { value: number; time: string } {
  const matching = observations
    .filter((o) => o.code.coding?.some((c) => c.code === code) && o.valueQuantity?.value !== undefined)
    .sort((a, b) => Date.parse(a.effectiveDateTime!) - Date.parse(b.effectiveDateTime!));
  const last = matching[matching.length - 1]!;
  return { value: last.valueQuantity!.value!, time: last.effectiveDateTime! };
}

describe('preprocessTabular on Synthea R4 bundles', () => {
  it('converts real mg/dL, kg and mm[Hg] values into the manifest units through UCUM', () => {
    const { patient, observations } = load('Barry_Wolf_f0c0c377-be9c-4ca2-97c0-7cef574bdb45.json');
    const latest = Math.max(...observations.map((o) => Date.parse(o.effectiveDateTime ?? '')).filter(Number.isFinite));
    const asOf = new Date(latest + 3_600_000);
    const r = preprocessTabular(observations, patient, spec, asOf, { convertUnit: createUcumConverter() });
    const byName = Object.fromEntries(r.features.map((f) => [f.name, f]));

    const glucose = lastValue(observations, '2339-0');
    expect(byName.glucose_mmol!.value).toBeCloseTo(glucose.value / 18.0156, 3);
    const creatinine = lastValue(observations, '38483-4');
    expect(byName.creatinine_umol!.value).toBeCloseTo((creatinine.value * 10_000) / 113.12, 1);
    const weight = lastValue(observations, '29463-7');
    expect(byName.weight_lb!.value).toBeCloseTo(weight.value / 0.45359237, 3);

    expect(byName.systolic_bp!.present).toBe(true);
    expect(byName.systolic_bp!.value).toBeGreaterThan(80);
    expect(byName.systolic_bp!.value).toBeLessThan(220);
    expect(byName.diastolic_bp!.value).toBeGreaterThan(6);
    expect(byName.diastolic_bp!.value).toBeLessThan(16);
    expect(byName.age_years!.present).toBe(true);
    expect(Array.from(r.mask)).toEqual([1, 1, 1, 1, 1, 1]);
    for (const f of r.features.slice(0, 5)) {
      expect(f.sources.length, f.name).toBeGreaterThan(0);
      expect(f.sources.every((s) => s.resourceType === 'Observation' && s.id.length > 0)).toBe(true);
    }
  });

  it('finds nothing when the look-back window ends before the first observation', () => {
    const { patient, observations } = load('Barry_Wolf_f0c0c377-be9c-4ca2-97c0-7cef574bdb45.json');
    const earliest = Math.min(...observations.map((o) => Date.parse(o.effectiveDateTime ?? '')).filter(Number.isFinite));
    const r = preprocessTabular(observations, patient, spec, new Date(earliest - 1000), { convertUnit: createUcumConverter() });
    expect(r.features.slice(0, 5).every((f) => !f.present)).toBe(true);
  });
});
