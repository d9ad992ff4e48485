import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodeChestRadiographDicom } from '../../../../src/sandbox/cohort/chest-radiograph-dicom.js';
import { drawChestRadiograph } from '../../../../src/sandbox/cohort/chest-radiograph-pixels.js';
import { defaultPrevalence } from '../../../../src/sandbox/cohort/cohort-options.js';
import { TransferSyntax, loadDcmjs } from '../../../../src/sandbox/cohort/dcmjs-api.js';
import { generateCohort, renderEcgPng, renderRadiographPng } from '../../../../src/sandbox/cohort/index.js';
import { sampleLatentState } from '../../../../src/sandbox/cohort/latent-state.js';
import { createRng } from '../../../../src/sandbox/cohort/seeded-random.js';
import { ofType, testOptions } from './cohort-test-helpers.js';

const dcmjs = loadDcmjs();

describe('PNG renders', () => {
  it('renders every radiograph storage variant of the same pixels to the same PNG', () => {
    const rng = createRng(8);
    const pixels = drawChestRadiograph(sampleLatentState(rng, defaultPrevalence), rng, 96);
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
    const decoded = (
      mono: 'MONOCHROME1' | 'MONOCHROME2',
      ts: typeof TransferSyntax.rleLossless | typeof TransferSyntax.explicitVrLittleEndian,
    ) =>
      PNG.sync.read(
        renderRadiographPng(
          encodeChestRadiographDicom(
            dcmjs,
            pixels,
            {
              modality: 'CR',
              photometricInterpretation: mono,
              bitsStored: 16,
              transferSyntaxUid: ts,
              viewPosition: 'PA',
            },
            p,
          ),
          dcmjs,
        ),
      );
    const reference = decoded('MONOCHROME2', TransferSyntax.explicitVrLittleEndian);
    expect(reference.width).toBe(96);
    expect(reference.height).toBe(96);
    for (const [mono, ts] of [
      ['MONOCHROME1', TransferSyntax.explicitVrLittleEndian],
      ['MONOCHROME1', TransferSyntax.rleLossless],
      ['MONOCHROME2', TransferSyntax.rleLossless],
    ] as const) {
      const other = decoded(mono, ts);
      let maxDiff = 0;
      for (let i = 0; i < reference.data.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs((reference.data[i] as number) - (other.data[i] as number)));
      expect(maxDiff).toBeLessThanOrEqual(1);
    }
    // Lungs (dark) and mediastinum (bright) are both present: the image is not flat.
    const grey = Array.from({ length: 96 * 96 }, (_, i) => reference.data[i * 4] as number);
    expect(Math.max(...grey) - Math.min(...grey)).toBeGreaterThan(100);
  });

  it('renders a 12-lead ECG with trace pixels on ECG paper', () => {
    const [patient] = [...generateCohort(testOptions({ patients: 1, rates: { ecg: 0, image: 1 } }))];
    const ecg = ofType(patient?.resources ?? [], 'Observation').find((o) =>
      o.code.coding?.some((c) => c.code === '11524-6'),
    );
    expect(ecg).toBeDefined();
    if (!ecg) return;
    const png = PNG.sync.read(renderEcgPng(ecg));
    expect(png.width).toBe(265 * 4);
    expect(png.height).toBe(130 * 4);
    let trace = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] === 20 && png.data[i + 1] === 20) trace++;
    expect(trace).toBeGreaterThan(5000);
  });
});
