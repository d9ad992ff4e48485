import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiagnosticReport, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { PatientRecord } from '../../../src/contracts/patient-record.js';
import { createUcumConverter } from '../../../src/preprocess/tabular/unit-conversion.js';
import { generateCohort } from '../../../src/sandbox/cohort/index.js';
import { caseFromRecord } from '../../../src/similar-cases/case-from-record.js';
import { parseEmbeddingManifest } from '../../../src/inference/manifest/embedding-manifest.js';
import { repoRoot } from '../../helpers/fixtures.js';

const parsed = parseEmbeddingManifest(JSON.parse(readFileSync(join(repoRoot, 'models/ecg-report-clip/1/embedding-manifest.json'), 'utf8')));
if (!parsed.ok) throw new Error(parsed.problems.join('; '));
const manifest = parsed.value;
const convertUnit = createUcumConverter();

const [generated] = generateCohort({ patients: 1, seed: 77, now: new Date('2026-06-01T00:00:00Z'), dicomwebBaseUrl: 'http://pacs.invalid/dicomweb', imageSize: 64, rates: { ecg: 0, report: 0 } });
const of = <T extends Resource>(type: T['resourceType']) => (generated?.resources ?? []).filter((r): r is T => r.resourceType === type);
const patient = of<Patient>('Patient')[0]!;
const ecg = of<Observation>('Observation').find((o) => o.component?.some((c) => c.valueSampledData))!;
const reports = of<DiagnosticReport>('DiagnosticReport');

function record(withEcg: boolean): PatientRecord {
  return {
    patient,
    asOf: '2026-06-01T00:00:00Z',
    roundTrips: 1,
    modalities: {
      tabular: { status: 'missing', reason: 'none-in-window', detail: '' },
      text: { status: 'present', data: reports, sources: [] },
      image: { status: 'missing', reason: 'none-in-window', detail: '' },
      ecg: withEcg
        ? { status: 'present', data: ecg, sources: [{ resourceType: 'Observation', id: ecg.id ?? '' }] }
        : { status: 'missing', reason: 'none-in-window', detail: '' },
    },
  };
}

describe('caseFromRecord', () => {
  it('takes the ECG the assessment used, preprocessed by the embedding manifest, and the ECG report (not the radiology one)', () => {
    const result = caseFromRecord(record(true), manifest, convertUnit);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { leads, durationSeconds, sampleRateHz } = manifest.preprocessing.ecg;
    expect(result.value.ecgWaveform).toHaveLength(leads.length * durationSeconds * sampleRateHz);
    expect(result.value.patientRef).toBe(`Patient/${patient.id}`);
    expect(result.value.ecgRef).toBe(`Observation/${ecg.id}`);
    expect(result.value.report?.ref).toBe(`DiagnosticReport/${generated?.patientId}-ecg-report`);
    expect(result.value.report?.text).toMatch(/ECG/i);
    expect(reports.length).toBeGreaterThan(1);
  });

  it('names why a patient without an ECG is not a past case', () => {
    expect(caseFromRecord(record(false), manifest, convertUnit)).toEqual({ ok: false, reason: 'no-ecg' });
    const broken = record(true);
    broken.modalities.ecg = { status: 'present', data: { ...ecg, component: [] }, sources: [{ resourceType: 'Observation', id: 'x' }] };
    expect(caseFromRecord(broken, manifest, convertUnit)).toEqual({ ok: false, reason: 'ecg-unusable' });
  });
});
