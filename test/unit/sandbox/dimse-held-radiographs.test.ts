import type { DiagnosticReport } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { generateCohort } from '../../../src/sandbox/cohort/index.js';
import { holdRadiograph } from '../../../src/sandbox/dimse/held-radiographs.js';
import { testOptions } from './cohort/cohort-test-helpers.js';

describe('sandbox DIMSE feed: a cohort patient before the modality has pushed the radiograph', () => {
  it('keeps the radiograph, its ImagingStudy and the report link out; leaves the ECG and everything else', () => {
    let held = 0;
    for (const generated of generateCohort(testOptions({ patients: 8 }))) {
      const radiograph = generated.dicom.find((d) => d.kind === 'chest-radiograph');
      const { patient, radiograph: pushed } = holdRadiograph(generated);
      if (!radiograph) {
        expect(pushed).toBeUndefined();
        expect(patient).toBe(generated);
        continue;
      }
      held++;
      expect(pushed).toEqual({ patientId: generated.patientId, bytes: radiograph.bytes });
      expect(patient.dicom).toEqual(generated.dicom.filter((d) => d.kind !== 'chest-radiograph'));
      const studies = patient.resources.filter((r) => r.resourceType === 'ImagingStudy');
      expect(studies.map((s) => s.id)).not.toContain(`${generated.patientId}-cxr`);
      const links = patient.resources
        .filter((r): r is DiagnosticReport => r.resourceType === 'DiagnosticReport')
        .flatMap((r) => r.imagingStudy ?? [])
        .map((ref) => ref.reference);
      expect(links).not.toContain(`ImagingStudy/${generated.patientId}-cxr`);
      // Nothing else is dropped.
      expect(patient.resources.length).toBe(generated.resources.length - 1);
    }
    expect(held).toBeGreaterThan(0);
  });
});
