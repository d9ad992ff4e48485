import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiagnosticReport, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PatientRecord } from '../../../src/contracts/patient-record.js';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import { loadCompressedFrameDecoder, type CompressedFrameDecoder } from '../../../src/preprocess/imaging/compressed-frame-decoder.js';
import { preprocessRecord } from '../../../src/preprocess/preprocess-record.js';
import { createUcumConverter } from '../../../src/preprocess/tabular/unit-conversion.js';
import { parseVocabulary } from '../../../src/preprocess/text/vocabulary.js';
import { thirdPartyFixture } from '../../helpers/fixtures.js';
import { readWfdbRecord, wfdbToObservation } from '../../helpers/wfdb.js';

const leads = ['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'];
const manifest: ModelManifest = {
  schemaVersion: 1,
  name: 'test-fusion',
  version: '1.0.0',
  title: 'test',
  description: 'test manifest',
  trainingData: { synthetic: true, description: 'none' },
  files: {},
  inputs: [
    { name: 'tab', dtype: 'float32', shape: [-1, 2], role: 'tabular-values' },
    { name: 'tab_mask', dtype: 'float32', shape: [-1, 2], role: 'tabular-mask' },
    { name: 'tokens', dtype: 'int64', shape: [-1, 16], role: 'text-tokens' },
    { name: 'cxr', dtype: 'float32', shape: [-1, 1, 64, 64], role: 'image' },
    { name: 'ecg', dtype: 'float32', shape: [-1, 12, 1000], role: 'ecg-waveform' },
    { name: 'ecg_img', dtype: 'float32', shape: [-1, 1, 64, 128], role: 'ecg-image' },
    { name: 'mask', dtype: 'float32', shape: [-1, 4], role: 'modality-mask' },
  ],
  outputs: [{ name: 'p', dtype: 'float32', shape: [-1, 1], role: 'probabilities' }],
  preprocessing: {
    tabular: {
      lookbackHours: 24,
      features: [
        { name: 'heart_rate', loinc: ['8867-4'], unit: '/min', aggregate: 'last', plausible: { min: 20, max: 300 }, mean: 80, std: 20 },
        { name: 'age_years', loinc: [], unit: 'a', source: 'age', aggregate: 'last', plausible: { min: 0, max: 130 }, mean: 60, std: 15 },
      ],
    },
    text: { lookbackHours: 48, categories: ['RAD'], tokenizer: 'vocab.json', maxTokens: 16, lowercase: true, negationPrefix: 'NEG_' },
    image: { lookbackHours: 48, modalities: ['CR', 'DX'], bodyPart: 'CHEST', viewPositions: ['PA', 'AP'], size: [64, 64], mean: 0.5, std: 0.25 },
    ecg: { lookbackHours: 48, sampleRateHz: 100, durationSeconds: 10, leads, representation: 'waveform', imageSize: [64, 128] },
  },
  outcomes: [],
  applicability: { requires: [], toleratesMissing: ['tabular', 'text', 'image', 'ecg'] },
};

const asOf = '2024-05-01T12:00:00Z';
const patient: Patient = { resourceType: 'Patient', id: 'pat', birthDate: '1960-01-01', gender: 'male' };
const hr: Observation = {
  resourceType: 'Observation', id: 'hr', meta: { versionId: '2' }, status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, effectiveDateTime: '2024-05-01T10:00:00Z',
  valueQuantity: { value: 100, system: 'http://unitsofmeasure.org', code: '/min' },
};
const report: DiagnosticReport = {
  resourceType: 'DiagnosticReport', id: 'rep', meta: { versionId: '1' }, status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'RAD' }] }],
  code: { text: 'Chest X-ray' }, effectiveDateTime: '2024-05-01T09:00:00Z', conclusion: 'Cardiomegaly. No pleural effusion.',
};

let codecs: CompressedFrameDecoder;
let modelDir: string;
let record: PatientRecord;
const convertUnit = createUcumConverter();

beforeAll(async () => {
  codecs = await loadCompressedFrameDecoder();
  modelDir = mkdtempSync(join(tmpdir(), 'fhir-fusion-preprocess-'));
  writeFileSync(join(modelDir, 'vocab.json'), JSON.stringify({ tokens: ['<pad>', '<unk>', 'cardiomegaly', 'NEG_pleural', 'NEG_effusion'] }));
  const ecgObs = wfdbToObservation(readWfdbRecord(thirdPartyFixture('ecg-wfdb', 's0010_re.hea')), 10);
  record = {
    patient,
    asOf,
    roundTrips: 4,
    modalities: {
      tabular: { status: 'present', data: [hr], sources: [{ resourceType: 'Observation', id: 'hr', versionId: '2' }] },
      text: { status: 'present', data: [report], sources: [{ resourceType: 'DiagnosticReport', id: 'rep', versionId: '1' }] },
      image: {
        status: 'present',
        data: {
          study: { resourceType: 'ImagingStudy', id: 'st', status: 'available', subject: { reference: 'Patient/pat' } },
          instance: { studyInstanceUid: '1.2', seriesInstanceUid: '1.2.3', sopInstanceUid: '1.2.3.4', bytes: new Uint8Array(readFileSync(thirdPartyFixture('dicom', 'CR-MONO1-10-chest.dcm'))) },
        },
        sources: [{ resourceType: 'ImagingStudy', id: 'st', versionId: '1' }],
      },
      ecg: { status: 'present', data: ecgObs, sources: [{ resourceType: 'Observation', id: ecgObs.id!, versionId: '1' }] },
    },
  };
});

afterAll(() => rmSync(modelDir, { recursive: true, force: true }));

describe('preprocessRecord', () => {
  it('builds every input tensor from a full record, loading the vocabulary from the model folder', () => {
    const out = preprocessRecord(record, manifest, modelDir, { codecs, convertUnit });
    expect(out.missing).toEqual([]);
    expect(out.presence).toEqual({ tabular: true, text: true, image: true, ecg: true });
    expect(Array.from(out.tensors.mask!.data as Float32Array)).toEqual([1, 1, 1, 1]);
    expect(out.tensors.tab).toMatchObject({ dtype: 'float32', dims: [1, 2] });
    expect(Array.from(out.tensors.tab!.data as Float32Array)).toEqual([1, expect.closeTo((64.33 - 60) / 15, 2)]);
    expect(out.tensors.tokens).toMatchObject({ dtype: 'int64', dims: [1, 16] });
    expect(Array.from(out.tensors.tokens!.data as BigInt64Array).slice(0, 4)).toEqual([2n, 3n, 4n, 0n]);
    expect(out.tensors.cxr!.dims).toEqual([1, 1, 64, 64]);
    expect(out.tensors.ecg!.dims).toEqual([1, 12, 1000]);
    expect(out.tensors.ecg_img!.dims).toEqual([1, 1, 64, 128]);
    expect((out.tensors.ecg_img!.data as Float32Array).some((v) => v === 1)).toBe(true);
    expect(out.tabularFeatures.map((f) => f.present)).toEqual([true, true]);
    expect(out.sources.map((s) => `${s.resourceType}/${s.id}`).sort()).toEqual(['DiagnosticReport/rep', 'ImagingStudy/st', 'Observation/hr', 'Observation/wfdb-s0010_re', 'Patient/pat'].sort());
  });

  it('turns an undecodable image and an assembly-missing ECG into named missing modalities', () => {
    const vocab = parseVocabulary({ tokens: ['<pad>', '<unk>', 'cardiomegaly'] });
    if (!vocab.ok) throw new Error(vocab.detail);
    const broken: PatientRecord = {
      ...record,
      modalities: {
        ...record.modalities,
        image: {
          status: 'present',
          data: {
            study: { resourceType: 'ImagingStudy', id: 'st', status: 'available', subject: { reference: 'Patient/pat' } },
            instance: { studyInstanceUid: '1', seriesInstanceUid: '1', sopInstanceUid: '1', bytes: new Uint8Array([0x08, 0, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) },
          },
          sources: [],
        },
        ecg: { status: 'missing', reason: 'none-in-window', detail: 'no ECG in the last 48 hours' },
      },
    };
    const out = preprocessRecord(broken, manifest, '/nonexistent', { codecs, convertUnit, vocabulary: vocab.value });
    expect(out.presence).toEqual({ tabular: true, text: true, image: false, ecg: false });
    expect(out.missing.map((m) => m.modality).sort()).toEqual(['ecg', 'image']);
    expect(out.missing.find((m) => m.modality === 'ecg')).toEqual({ modality: 'ecg', reason: 'none-in-window', detail: 'no ECG in the last 48 hours' });
    expect(Array.from(out.tensors.mask!.data as Float32Array)).toEqual([1, 1, 0, 0]);
    expect((out.tensors.cxr!.data as Float32Array).every((v) => v === 0)).toBe(true);
    expect(out.tensors.ecg!.data).toHaveLength(12 * 1000);
  });

  it('refuses an image whose DICOM view position the model does not accept', () => {
    const apOnly: ModelManifest = { ...manifest, preprocessing: { ...manifest.preprocessing, image: { ...manifest.preprocessing.image!, viewPositions: ['AP'] } } };
    const out = preprocessRecord(record, apOnly, modelDir, { codecs, convertUnit });
    expect(out.presence.image).toBe(false);
    expect(out.missing).toEqual([{ modality: 'image', reason: 'outside-input-contract', detail: 'image not usable: ViewPosition (0018,5101) PA is not one the model accepts (AP)' }]);
  });

  it('names a text report outside the window or category, and an unreadable vocabulary, as missing text', () => {
    const old: PatientRecord = { ...record, asOf: '2024-06-01T00:00:00Z' };
    const out = preprocessRecord(old, manifest, modelDir, { codecs, convertUnit });
    expect(out.missing.find((m) => m.modality === 'text')).toMatchObject({ reason: 'none-in-window' });
    expect(out.presence.text).toBe(false);
    const noVocab = preprocessRecord(record, manifest, '/nonexistent', { codecs, convertUnit });
    expect(noVocab.missing.find((m) => m.modality === 'text')).toMatchObject({ reason: 'invalid-value' });
    expect(noVocab.presence.image).toBe(true);
  });
});
