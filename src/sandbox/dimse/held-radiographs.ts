import type { DiagnosticReport, Resource } from '@medplum/fhirtypes';
import type { GeneratedPatient } from '../cohort/generate-patient.js';

/** A cohort radiograph kept out of the EHR and PACS, for a modality to push over DIMSE. */
export interface HeldRadiograph {
  patientId: string;
  /** The Part-10 file (DX or CR; Explicit VR Little Endian or RLE Lossless). */
  bytes: Uint8Array;
}

/**
 * Splits a cohort patient for the DIMSE feed: the patient as the EHR and PACS hold it before the
 * modality has sent the chest radiograph (no radiograph ImagingStudy, no radiograph instance, and
 * the radiology report not yet linked to a study), and the radiograph itself. The ImagingStudy is
 * then the DIMSE door's to create, as it does for a real modality's push. Synthetic data only.
 */
export function holdRadiograph(patient: GeneratedPatient): {
  patient: GeneratedPatient;
  radiograph?: HeldRadiograph;
} {
  const held = patient.dicom.find((d) => d.kind === 'chest-radiograph');
  if (!held) return { patient };
  const studyId = `ImagingStudy/${patient.patientId}-cxr`;
  const resources = patient.resources
    .filter((r) => !(r.resourceType === 'ImagingStudy' && `ImagingStudy/${r.id}` === studyId))
    .map((r): Resource => {
      if (r.resourceType !== 'DiagnosticReport' || !r.imagingStudy) return r;
      const { imagingStudy, ...report } = r;
      const rest = imagingStudy.filter((s) => s.reference !== studyId);
      return (rest.length ? { ...report, imagingStudy: rest } : report) satisfies DiagnosticReport;
    });
  return {
    patient: { ...patient, resources, dicom: patient.dicom.filter((d) => d !== held) },
    radiograph: { patientId: patient.patientId, bytes: held.bytes },
  };
}
