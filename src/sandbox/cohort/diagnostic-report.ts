import type { DiagnosticReport } from '@medplum/fhirtypes';
import type { ReportText } from './report-text.js';

/** What a generated report is about. */
export interface DiagnosticReportInput {
  id: string;
  patientId: string;
  encounterId: string;
  kind: 'radiology' | 'ecg';
  /** LOINC code and display of the study (36643-5, 36554-4, 11524-6). */
  loinc: { code: string; display: string };
  effective: Date;
  issued: Date;
  text: ReportText;
  imagingStudyId?: string;
  resultObservationId?: string;
}

/** UTF-8 → base64 for `Attachment.data` (FHIR R4 base64Binary). */
function base64Utf8(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * A final DiagnosticReport (FHIR R4 §8.6) with the impression in `conclusion` and the full report
 * as `presentedForm` text/plain (base64, UTF-8). Category from HL7 v2 table 0074: RAD for
 * radiology, EC (electrocardiac) for the ECG.
 */
export function diagnosticReport(input: DiagnosticReportInput): DiagnosticReport {
  const category =
    input.kind === 'radiology'
      ? { code: 'RAD', display: 'Radiology' }
      : { code: 'EC', display: 'Electrocardiac (e.g., EKG, EEC, Holter)' };
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: input.id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', ...category }] }],
    code: { coding: [{ system: 'http://loinc.org', ...input.loinc }], text: input.loinc.display },
    subject: { reference: `Patient/${input.patientId}` },
    encounter: { reference: `Encounter/${input.encounterId}` },
    effectiveDateTime: input.effective.toISOString(),
    issued: input.issued.toISOString(),
    conclusion: input.text.conclusion,
    presentedForm: [
      {
        contentType: 'text/plain; charset=utf-8',
        language: 'en',
        data: base64Utf8(input.text.text),
        title: input.kind === 'radiology' ? 'Radiology report' : 'ECG interpretation',
      },
    ],
  };
  if (input.imagingStudyId) report.imagingStudy = [{ reference: `ImagingStudy/${input.imagingStudyId}` }];
  if (input.resultObservationId) report.result = [{ reference: `Observation/${input.resultObservationId}` }];
  return report;
}
