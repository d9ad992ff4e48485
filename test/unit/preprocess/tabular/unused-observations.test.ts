import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Observation } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../../src/contracts/manifest-types.js';
import { unusedObservations } from '../../../../src/preprocess/tabular/unused-observations.js';
import { repoRoot } from '../../../helpers/fixtures.js';

const manifest = JSON.parse(readFileSync(join(repoRoot, 'models', 'tabular-risk', '1', 'manifest.json'), 'utf8')) as ModelManifest;
const spec = manifest.preprocessing.tabular!;

function obs(id: string, code: string, display: string, value: number, unit: string, extra: Partial<Observation> = {}): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code, display }] },
    effectiveDateTime: '2026-11-20T10:00:00Z',
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
    ...extra,
  };
}

describe('observations seen but not used (issue #17)', () => {
  it('lists glucose in mmol/L under a code the model does not map, pCO2, base excess, RBC and haemoglobin — by code and count, never a value', () => {
    const unused = unusedObservations(
      [
        obs('hr', '8867-4', 'Heart rate', 96, '/min'),
        obs('glu-1', '15074-8', 'Glucose [Moles/volume] in Blood', 7.2, 'mmol/L'),
        obs('glu-2', '15074-8', 'Glucose [Moles/volume] in Blood', 8.1, 'mmol/L'),
        obs('pco2', '2019-8', 'Carbon dioxide [Partial pressure] in Arterial blood', 41, 'mm[Hg]'),
        obs('be', '1925-7', 'Base excess in Arterial blood by calculation', -2, 'mmol/L'),
        obs('rbc', '789-8', 'Erythrocytes [#/volume] in Blood by Automated count', 4.5, '10*6/uL'),
        obs('hb', '718-7', 'Hemoglobin [Mass/volume] in Blood', 13.2, 'g/dL'),
        // A panel whose components are used (blood pressure) is used, though its own code is not a feature.
        {
          resourceType: 'Observation',
          id: 'bp',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
          component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, code: 'mm[Hg]' } }],
        },
      ],
      spec,
    );
    expect(unused).toEqual([
      { code: { system: 'http://loinc.org', code: '15074-8', display: 'Glucose [Moles/volume] in Blood' }, count: 2 },
      { code: { system: 'http://loinc.org', code: '1925-7', display: 'Base excess in Arterial blood by calculation' }, count: 1 },
      { code: { system: 'http://loinc.org', code: '2019-8', display: 'Carbon dioxide [Partial pressure] in Arterial blood' }, count: 1 },
      { code: { system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood' }, count: 1 },
      { code: { system: 'http://loinc.org', code: '789-8', display: 'Erythrocytes [#/volume] in Blood by Automated count' }, count: 1 },
    ]);
    expect(JSON.stringify(unused)).not.toMatch(/7\.2|8\.1|13\.2/);
  });
});
