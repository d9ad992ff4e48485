import { createRequire } from 'node:module';
import { DicomImage, NativePixelDecoder } from 'dcmjs-imaging';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeChestRadiographDicom } from '../../../../src/sandbox/cohort/chest-radiograph-dicom.js';
import { drawChestRadiograph } from '../../../../src/sandbox/cohort/chest-radiograph-pixels.js';
import { defaultPrevalence } from '../../../../src/sandbox/cohort/cohort-options.js';
import { TransferSyntax, loadDcmjs } from '../../../../src/sandbox/cohort/dcmjs-api.js';
import { generateCohort } from '../../../../src/sandbox/cohort/index.js';
import { sampleLatentState } from '../../../../src/sandbox/cohort/latent-state.js';
import { createRng } from '../../../../src/sandbox/cohort/seeded-random.js';
import { ofType, readDicom, testOptions } from './cohort-test-helpers.js';

const dcmjs = loadDcmjs();

describe('generated DICOM', () => {
  beforeAll(async () => {
    // dcmjs-imaging decodes RLE in its WebAssembly codec module.
    const wasm = createRequire(import.meta.url).resolve('dcmjs-imaging/build/dcmjs-native-codecs.wasm');
    await NativePixelDecoder.initializeAsync({ webAssemblyModulePathOrUrl: wasm });
  });
  const patients = [...generateCohort(testOptions({ patients: 30, rates: { image: 0, ecg: 0 } }))];

  it('chest radiographs parse with dcmjs and cover every storage variant', () => {
    const variants = new Set<string>();
    for (const p of patients) {
      const image = p.dicom.find((d) => d.kind === 'chest-radiograph');
      expect(image).toBeDefined();
      if (!image) continue;
      const { meta, dataset } = readDicom(dcmjs, image.bytes);
      const ts = meta.TransferSyntaxUID as string;
      expect([TransferSyntax.explicitVrLittleEndian, TransferSyntax.rleLossless]).toContain(ts);
      expect(dataset.SOPInstanceUID).toBe(image.sopInstanceUid);
      expect(dataset.StudyInstanceUID).toBe(image.studyInstanceUid);
      expect(dataset.SeriesInstanceUID).toBe(image.seriesInstanceUid);
      expect(['DX', 'CR']).toContain(dataset.Modality);
      expect(dataset.BodyPartExamined).toBe('CHEST');
      expect(dataset.Rows).toBe(64);
      expect(dataset.BitsAllocated).toBe(16);
      expect(dataset.HighBit).toBe((dataset.BitsStored as number) - 1);
      expect(dataset.PresentationLUTShape).toBe(
        dataset.PhotometricInterpretation === 'MONOCHROME1' ? 'INVERSE' : 'IDENTITY',
      );
      const name = dataset.PatientName as Array<{ Alphabetic: string }>;
      expect(name[0]?.Alphabetic).toMatch(/^[A-Za-z]+\^[A-Za-z]+$/);
      variants.add(`${ts}|${String(dataset.PhotometricInterpretation)}|${String(dataset.BitsStored)}`);
      if (ts === TransferSyntax.explicitVrLittleEndian) {
        const pixels = new Uint16Array((dataset.PixelData as ArrayBuffer[])[0] as ArrayBuffer);
        expect(pixels.length).toBe(64 * 64);
        expect(Math.max(...pixels)).toBeLessThanOrEqual(2 ** (dataset.BitsStored as number) - 1);
      }
    }
    const joined = [...variants].join(' ');
    for (const needle of [
      TransferSyntax.rleLossless,
      TransferSyntax.explicitVrLittleEndian,
      'MONOCHROME1',
      'MONOCHROME2',
      '|12',
      '|16',
    ])
      expect(joined).toContain(needle);
  });

  it('RLE Lossless decodes (with the independent dcmjs-imaging decoder) to the same image as the native file', () => {
    const rng = createRng(5);
    const state = sampleLatentState(rng, defaultPrevalence);
    const pixels = drawChestRadiograph(state, rng, 64);
    const p = {
      patientName: 'Test^Ada',
      patientId: 'P1',
      issuerOfPatientId: 'urn:x',
      birthDate: '1950-01-02',
      sex: 'female' as const,
      studyInstanceUid: '2.25.1',
      seriesInstanceUid: '2.25.2',
      sopInstanceUid: '2.25.3',
      accessionNumber: 'A1',
      acquired: new Date('2026-01-01T00:00:00Z'),
      studyDescription: 'XR chest',
    };
    const render = (
      ts: typeof TransferSyntax.rleLossless | typeof TransferSyntax.explicitVrLittleEndian,
      mono: 'MONOCHROME1' | 'MONOCHROME2',
    ) => {
      const bytes = encodeChestRadiographDicom(
        dcmjs,
        pixels,
        {
          modality: 'DX',
          photometricInterpretation: mono,
          bitsStored: 16,
          transferSyntaxUid: ts,
          viewPosition: 'PA',
        },
        p,
      );
      const image = new DicomImage(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      );
      return new Uint8Array(image.render().pixels);
    };
    const native = render(TransferSyntax.explicitVrLittleEndian, 'MONOCHROME2');
    expect(native.length).toBe(64 * 64 * 4);
    expect(new Set(native).size).toBeGreaterThan(20);
    expect(Buffer.from(render(TransferSyntax.rleLossless, 'MONOCHROME2')).equals(Buffer.from(native))).toBe(
      true,
    );
    expect(
      Buffer.from(render(TransferSyntax.rleLossless, 'MONOCHROME1')).equals(
        Buffer.from(render(TransferSyntax.explicitVrLittleEndian, 'MONOCHROME1')),
      ),
    ).toBe(true);
  });

  it('ECG waveforms are 12-lead ECG Waveform Storage with 12 × 5,000 samples at 500 Hz matching the FHIR SampledData', () => {
    const p = patients[0];
    const ecgFile = p?.dicom.find((d) => d.kind === 'ecg-waveform');
    expect(ecgFile).toBeDefined();
    if (!p || !ecgFile) return;
    const { meta, dataset } = readDicom(dcmjs, ecgFile.bytes);
    expect(meta.TransferSyntaxUID).toBe(TransferSyntax.explicitVrLittleEndian);
    expect(dataset.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.9.1.1');
    expect(dataset.Modality).toBe('ECG');
    const group = (dataset.WaveformSequence as Array<Record<string, unknown>>)[0] ?? {};
    expect(group.NumberOfWaveformChannels).toBe(12);
    expect(group.NumberOfWaveformSamples).toBe(5000);
    expect(Number(group.SamplingFrequency)).toBe(500);
    expect(group.WaveformSampleInterpretation).toBe('SS');
    const channels = group.ChannelDefinitionSequence as Array<{
      ChannelSourceSequence: Array<{ CodeValue: string; CodingSchemeDesignator: string }>;
    }>;
    expect(channels.map((c) => c.ChannelSourceSequence[0]?.CodeValue)).toEqual([
      '5.6.3-9-1',
      '5.6.3-9-2',
      '5.6.3-9-61',
      '5.6.3-9-62',
      '5.6.3-9-63',
      '5.6.3-9-64',
      '5.6.3-9-3',
      '5.6.3-9-4',
      '5.6.3-9-5',
      '5.6.3-9-6',
      '5.6.3-9-7',
      '5.6.3-9-8',
    ]);
    const samples = new Int16Array((group.WaveformData as ArrayBuffer[])[0] as ArrayBuffer);
    expect(samples.length).toBe(12 * 5000);
    const observation = ofType(p.resources, 'Observation').find((o) =>
      o.code.coding?.some((c) => c.code === '11524-6'),
    );
    const leadII = observation?.component?.[1]?.valueSampledData?.data?.split(' ').map(Number) ?? [];
    const dicomLeadII = Array.from({ length: 5000 }, (_, s) => samples[s * 12 + 1]);
    expect(dicomLeadII).toEqual(leadII);
  });
});
