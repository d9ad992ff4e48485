import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { PatientRecord } from '../../../src/contracts/patient-record.js';
import { createManifestValidator } from '../../../src/inference/manifest/manifest-schema.js';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import { outcomesNotAssessed } from '../../../src/preprocess/abstention-rules.js';
import { preprocessRecord } from '../../../src/preprocess/preprocess-record.js';
import { repoRoot } from '../../helpers/fixtures.js';

const AS_OF = '2026-11-20T12:00:00.000Z';
const SHIPPED = ['tabular-risk', 'tabular-mlp', 'late-fusion', 'attention-fusion'];

function manifestOf(name: string): { manifest: ModelManifest; dir: string } {
  const dir = join(repoRoot, 'models', name, '1');
  return { manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest, dir };
}

const patient: Patient = { resourceType: 'Patient', id: 'p-1', meta: { versionId: '1' }, gender: 'male', birthDate: '1950-03-01' };

function obs(id: string, loinc: string, value: number, ucum: string): Observation {
  return {
    resourceType: 'Observation',
    id,
    meta: { versionId: '1' },
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: loinc }] },
    subject: { reference: 'Patient/p-1' },
    effectiveDateTime: '2026-11-20T10:00:00.000Z',
    valueQuantity: { value, unit: ucum, system: 'http://unitsofmeasure.org', code: ucum },
  };
}

function record(observations: Observation[]): PatientRecord {
  const none = { status: 'missing' as const, reason: 'none-in-window' as const, detail: 'none' };
  return {
    patient,
    asOf: AS_OF,
    modalities: {
      tabular: observations.length ? { status: 'present', data: observations, sources: [] } : none,
      text: none,
      image: none,
      ecg: none,
    },
    roundTrips: 1,
  };
}

const oneHeartRate = [obs('hr', '8867-4', 118, '/min')];
const admission = [
  obs('hr', '8867-4', 96, '/min'),
  obs('rr', '9279-1', 22, '/min'),
  obs('spo2', '59408-5', 93, '%'),
  obs('temp', '8310-5', 38.2, 'Cel'),
  obs('bnp', '33762-6', 2400, 'pg/mL'),
  obs('crp', '1988-5', 80, 'mg/L'),
  obs('k', '2823-3', 4.1, 'mmol/L'),
  obs('na', '2951-2', 138, 'mmol/L'),
];

describe('abstention rules in the shipped manifests (issue #17)', () => {
  it('every shipped manifest validates and carries a minimum-information rule', () => {
    const validate = createManifestValidator();
    for (const name of [...SHIPPED, 'ecg-cnn', 'ecg-image-cnn', 'image-cnn', 'text-bilstm']) {
      const { manifest } = manifestOf(name);
      expect(validate(manifest), name).toMatchObject({ ok: true });
      expect(manifest.abstention?.minimumInformation.anyOf.length, name).toBeGreaterThan(0);
    }
  });

  it.each(SHIPPED)('%s: demographics plus one heart rate → every outcome "too little information", no probability', (name) => {
    const { manifest, dir } = manifestOf(name);
    const pre = preprocessRecord(record(oneHeartRate), manifest, dir);
    expect(pre.presence.tabular).toBe(true);
    expect(pre.notAssessed.map((n) => n.outcomeIndex)).toEqual(manifest.outcomes.map((o) => o.index));
    expect(new Set(pre.notAssessed.map((n) => n.reason))).toEqual(new Set(['too-little-information']));
    expect(pre.notAssessed[0]?.detail).toMatch(/^too little information: needs .*at least 4 of heart_rate/);
  });

  it.each(SHIPPED)('%s: an admission with vitals and labs is assessed; atrial fibrillation without the ECG needs two labs', (name) => {
    const { manifest, dir } = manifestOf(name);
    expect(preprocessRecord(record(admission), manifest, dir).notAssessed).toEqual([]);
    const vitalsOnly = admission.filter((o) => !['bnp', 'crp', 'k', 'na'].includes(o.id ?? ''));
    const pre = preprocessRecord(record(vitalsOnly), manifest, dir);
    // Four vitals meet the minimum; heart failure (no NT-proBNP/troponin), pneumonia (no
    // inflammatory marker) and AF (no labs, no ECG) each lack their own evidence.
    expect(pre.notAssessed.map((n) => [n.outcomeIndex, n.reason])).toEqual([
      [0, 'required-input-missing'],
      [1, 'required-input-missing'],
      [2, 'required-input-missing'],
    ]);
    expect(pre.notAssessed[2]?.detail).toMatch(/^Atrial fibrillation needs (the ECG or )?at least 2 of nt_probnp/);
  });

  it('a required modality refused in preprocessing makes the single-modality model abstain on everything, naming the refusal', () => {
    const { manifest } = manifestOf('ecg-cnn');
    const notAssessed = outcomesNotAssessed(manifest, {
      presence: { tabular: false, text: false, image: false, ecg: false },
      tabularFeatures: [],
      missing: [{ modality: 'ecg', reason: 'outside-input-contract', detail: 'ECG not usable: 3 lead(s) recorded, the model needs 12' }],
    });
    expect(notAssessed).toHaveLength(3);
    expect(notAssessed[0]).toEqual({ outcomeIndex: 0, reason: 'required-input-missing', detail: 'ecg not usable (outside-input-contract): ECG not usable: 3 lead(s) recorded, the model needs 12' });
  });

  it('the manifest validator refuses a rule naming a feature or modality the model never sees', () => {
    const { manifest } = manifestOf('tabular-risk');
    const broken = structuredClone(manifest);
    broken.abstention = { minimumInformation: { anyOf: [{ modality: 'ecg' }, { features: ['heart_rate', 'bnp_typo'], atLeast: 3 }] } };
    const result = createManifestValidator()(broken);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.issues.map((i) => i.pointer)).toEqual([
        '/abstention/minimumInformation/anyOf/0/modality',
        '/abstention/minimumInformation/anyOf/1/features/1',
        '/abstention/minimumInformation/anyOf/1/atLeast',
      ]);
    }
  });
});
