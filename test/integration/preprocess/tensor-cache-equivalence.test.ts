import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import type { PatientRecord } from '../../../src/contracts/patient-record.js';
import { preprocessRecord, type PreprocessedRecord } from '../../../src/preprocess/preprocess-record.js';
import { createUcumConverter } from '../../../src/preprocess/tabular/unit-conversion.js';
import { createTensorCache, type TensorCache } from '../../../src/preprocess/tensor-cache.js';
import { generateCohort } from '../../../src/sandbox/cohort/index.js';
import { recordFromGenerated } from '../../../models/training/export-features.js';

/**
 * Issue #26: caching preprocessed image and ECG tensors must not change a single probability.
 * The same synthetic cohort (all four modalities; reference models trained on synthetic data) is
 * preprocessed with the cache off, then twice with it on (cold: every image and ECG a miss; warm:
 * every one a hit), and every shipped model that reads an image or an ECG is run on each: the
 * preprocessed records and the probabilities must be identical, bit for bit.
 */
const now = new Date('2026-01-15T12:00:00Z');
const convertUnit = createUcumConverter();
const MODELS = ['attention-fusion', 'late-fusion', 'image-cnn', 'ecg-cnn', 'ecg-image-cnn'] as const;
const manifestOf = (name: string) =>
  JSON.parse(readFileSync(`models/${name}/1/manifest.json`, 'utf8')) as ModelManifest;

let records: PatientRecord[];

beforeAll(() => {
  const patients = [
    ...generateCohort({
      patients: 8,
      seed: 26_026,
      now,
      dicomwebBaseUrl: 'http://localhost/dicomweb',
      imageSize: 128,
    }),
  ];
  // Even indices carry the ECG as a FHIR Observation, odd ones as DICOM waveform (see recordFromGenerated).
  records = patients.map((p, i) => recordFromGenerated(p, i, now));
});

async function probabilities(session: ort.InferenceSession, pre: PreprocessedRecord): Promise<number[]> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(pre.tensors)) feeds[name] = new ort.Tensor(t.dtype, t.data, t.dims);
  const out = await session.run(feeds);
  const first = Object.values(out)[0];
  return Array.from(first?.data as Float32Array);
}

describe('preprocessed-tensor cache (issue #26)', () => {
  it('the same cohort with the cache off, cold and warm: identical tensors and identical probabilities for every model', async () => {
    const lookups = { hit: 0, miss: 0 };
    const cache: TensorCache = createTensorCache({
      maxBytes: 256 * 1024 * 1024,
      maxEntries: 1000,
      onLookup: (_m, hit) => void (hit ? lookups.hit++ : lookups.miss++),
    });
    let compared = 0;
    for (const name of MODELS) {
      const manifest = manifestOf(name);
      const dir = `models/${name}/1`;
      const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
      for (const record of records) {
        const off = preprocessRecord(record, manifest, dir, { convertUnit });
        const cold = preprocessRecord(record, manifest, dir, { convertUnit, tensorCache: cache });
        const warm = preprocessRecord(record, manifest, dir, { convertUnit, tensorCache: cache });
        expect(cold).toEqual(off);
        expect(warm).toEqual(off);
        const expected = await probabilities(session, off);
        expect(await probabilities(session, cold)).toEqual(expected);
        expect(await probabilities(session, warm)).toEqual(expected);
        if (off.presence.image || off.presence.ecg) compared++;
      }
      await session.release();
    }
    // The cohort really exercised the cache: images and ECGs were present, and the warm pass hit.
    expect(compared).toBeGreaterThan(20);
    expect(lookups.hit).toBeGreaterThan(20);
    expect(lookups.miss).toBeGreaterThan(0);
  }, 300_000);

  it('a changed ECG or image is a miss, never the cached tensor of the previous version', () => {
    const manifest = manifestOf('late-fusion');
    const dir = 'models/late-fusion/1';
    const record = records.find(
      (r) =>
        r.modalities.image.status === 'present' &&
        r.modalities.ecg.status === 'present' &&
        'resourceType' in r.modalities.ecg.data,
    );
    if (!record || record.modalities.image.status !== 'present' || record.modalities.ecg.status !== 'present')
      throw new Error('no generated patient with an image and an ECG Observation');
    const results: boolean[] = [];
    const cache = createTensorCache({
      maxBytes: 1 << 28,
      maxEntries: 100,
      onLookup: (_m, hit) => results.push(hit),
    });
    preprocessRecord(record, manifest, dir, { convertUnit, tensorCache: cache });
    // A new ECG version whose samples changed, and a film whose last byte changed.
    const ecgObs = structuredClone(record.modalities.ecg.data) as import('@medplum/fhirtypes').Observation;
    const sampled = ecgObs.component?.[0]?.valueSampledData;
    if (!sampled?.data) throw new Error('expected SampledData on the ECG');
    const digits = sampled.data.split(' ');
    digits[10] = String(Number(digits[10]) + 50);
    sampled.data = digits.join(' ');
    const bytes = record.modalities.image.data.instance.bytes.slice();
    bytes[bytes.length - 1] = (bytes[bytes.length - 1]! + 1) & 0xff;
    const changed: PatientRecord = {
      ...record,
      modalities: {
        ...record.modalities,
        ecg: { ...record.modalities.ecg, data: ecgObs },
        image: {
          ...record.modalities.image,
          data: {
            ...record.modalities.image.data,
            instance: { ...record.modalities.image.data.instance, bytes },
          },
        },
      },
    };
    results.length = 0;
    const cached = preprocessRecord(changed, manifest, dir, { convertUnit, tensorCache: cache });
    expect(results).toEqual([false, false]);
    expect(cached).toEqual(preprocessRecord(changed, manifest, dir, { convertUnit }));
  });
});
