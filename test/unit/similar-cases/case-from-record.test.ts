import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DiagnosticReport, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { PatientRecord } from '../../../src/contracts/patient-record.js';
import { createUcumConverter } from '../../../src/preprocess/tabular/unit-conversion.js';
import { generateCohort } from '../../../src/sandbox/cohort/index.js';
import { ecgLeadsFromSource } from '../../../src/preprocess/ecg/ecg-from-record-source.js';
import { renderEcgImage } from '../../../src/preprocess/ecg/render-ecg-image.js';
import { toModelEcg } from '../../../src/preprocess/ecg/to-model-ecg.js';
import { caseFromRecord } from '../../../src/similar-cases/case-from-record.js';
import { parseEmbeddingManifest } from '../../../src/inference/manifest/embedding-manifest.js';
import { repoRoot } from '../../helpers/fixtures.js';

const parsed = parseEmbeddingManifest(JSON.parse(readFileSync(join(repoRoot, 'models/ecg-report-clip/1/embedding-manifest.json'), 'utf8')));
if (!parsed.ok) throw new Error(parsed.problems.join('; '));
const manifest = parsed.value;

/** The same model, its ECG encoder reading the rendered 12-lead image (as `ecg-report-clip@2`'s ViT does). */
function imageManifest(size: [number, number]) {
  const json = JSON.parse(readFileSync(join(repoRoot, 'models/ecg-report-clip/1/embedding-manifest.json'), 'utf8'));
  json.preprocessing.ecg = { ...json.preprocessing.ecg, representation: 'image', imageSize: size };
  json.encoders.ecg.inputs = [{ name: 'ecg_image', dtype: 'float32', shape: [-1, 1, ...size], role: 'ecg-image' }];
  const image = parseEmbeddingManifest(json);
  if (!image.ok) throw new Error(image.problems.join('; '));
  return image.value;
}
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
    expect(result.value.ecgInput).toHaveLength(leads.length * durationSeconds * sampleRateHz);
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

  it('renders the ECG to the 12-lead image, through the same preprocessing, for an image encoder', () => {
    const result = caseFromRecord(record(true), imageManifest([96, 128]), convertUnit);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const leads = ecgLeadsFromSource(ecg, { convertUnit });
    if (!leads.ok) throw new Error(leads.detail);
    const model = toModelEcg(leads.value, manifest.preprocessing.ecg);
    if (!model.ok) throw new Error(model.detail);
    expect(result.value.ecgInput).toEqual(renderEcgImage(model.value, [96, 128]));
    // A drawn trace, not a blank canvas: the waveform is what the image shows.
    const inked = result.value.ecgInput.reduce((a, v) => a + v, 0) / result.value.ecgInput.length;
    expect(inked).toBeGreaterThan(0.02);
    expect(inked).toBeLessThan(0.5);
  });
});

describe('parseEmbeddingManifest: the ECG encoder input matches the representation', () => {
  it('accepts an image encoder of [-1, 1, H, W] at imageSize', () => {
    expect(imageManifest([96, 128]).encoders.ecg.inputs[0]?.role).toBe('ecg-image');
  });

  it('refuses an image encoder whose size differs from imageSize, or that has none', () => {
    const json = JSON.parse(readFileSync(join(repoRoot, 'models/ecg-report-clip/1/embedding-manifest.json'), 'utf8'));
    json.preprocessing.ecg = { ...json.preprocessing.ecg, representation: 'image', imageSize: [64, 128] };
    json.encoders.ecg.inputs = [{ name: 'ecg_image', dtype: 'float32', shape: [-1, 1, 96, 128], role: 'ecg-image' }];
    const wrongSize = parseEmbeddingManifest(json);
    expect(wrongSize.ok ? [] : wrongSize.problems).toEqual(['/encoders/ecg/inputs/0: must be float32 ecg-image [-1, 1, 64, 128]']);
    delete json.preprocessing.ecg.imageSize;
    const noSize = parseEmbeddingManifest(json);
    expect(noSize.ok ? [] : noSize.problems).toEqual(['/preprocessing/ecg/imageSize: required when representation is image']);
  });

  it('refuses a waveform manifest whose encoder reads an image', () => {
    const json = JSON.parse(readFileSync(join(repoRoot, 'models/ecg-report-clip/1/embedding-manifest.json'), 'utf8'));
    json.encoders.ecg.inputs = [{ name: 'ecg_image', dtype: 'float32', shape: [-1, 1, 96, 128], role: 'ecg-image' }];
    const parsed = parseEmbeddingManifest(json);
    expect(parsed.ok ? [] : parsed.problems).toEqual(['/encoders/ecg/inputs/0: must be ecg-waveform [-1, 12, 1000]']);
  });
});
