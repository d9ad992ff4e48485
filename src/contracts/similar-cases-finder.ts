import type { DiagnosticReport } from '@medplum/fhirtypes';

/**
 * Finds the patient's similar past cases, reading each neighbour's report with `read`. A contract
 * (#22): similar-cases/ implements it and the review app calls it, and neither imports the other.
 */
export type SimilarCasesFinder = (
  patientRef: string,
  read: (reference: string) => Promise<DiagnosticReport | undefined>,
) => Promise<Array<{ similarity: number; report: DiagnosticReport; reportReference: string }> | undefined>;
