import type { DiagnosticReport, OperationOutcomeIssue, Provenance, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { AIAST, EXTENSION_URLS } from '../contracts/fusion-terminology.js';
import { DRAFT_REPORT_PROFILE } from './build-draft-report.js';

function issue(expression: string, text: string): OperationOutcomeIssue {
  return { severity: 'error', code: 'invariant', details: { text }, expression: [expression] };
}

function hasAiast(codings: Array<{ system?: string; code?: string }> | undefined): boolean {
  return (codings ?? []).some((c) => c.system === AIAST.system && c.code === AIAST.code);
}

function riskAssessmentIssues(ra: RiskAssessment): OperationOutcomeIssue[] {
  const out: OperationOutcomeIssue[] = [];
  // HL7 AI Transparency on FHIR: AI-produced resources carry the AIAST security label.
  if (!hasAiast(ra.meta?.security)) {
    out.push(issue('RiskAssessment.meta.security', 'meta.security must include AIAST (v3-ObservationValue)'));
  }
  if (!ra.basis?.length) {
    out.push(issue('RiskAssessment.basis', 'basis must reference at least one input resource version'));
  }
  // FusionRiskAssessment ffra-7 (issue #17): no prediction only when outcomes are declared not assessed.
  if (!ra.prediction?.length && !(ra.extension ?? []).some((e) => e.url === EXTENSION_URLS.outcomeNotAssessed)) {
    out.push(issue('RiskAssessment.prediction', 'a RiskAssessment without prediction must declare its outcomes not assessed (outcome-not-assessed)'));
  }
  (ra.prediction ?? []).forEach((p, i) => {
    const path = `RiskAssessment.prediction[${i}].probability`;
    const value = p.probabilityDecimal;
    // FHIR R4 §RiskAssessment ras-2 bounds probabilityDecimal by 100; fhir-fusion states 0..1.
    if (value === undefined) out.push(issue(path, 'probabilityDecimal is required'));
    else if (!Number.isFinite(value) || value < 0 || value > 1) {
      out.push(
        issue(
          path,
          'probabilityDecimal must be a probability between 0 and 1 (ras-2, FusionRiskAssessment ffra-5)',
        ),
      );
    }
  });
  return out;
}

function provenanceIssues(provenance: Provenance): OperationOutcomeIssue[] {
  // AI Transparency on FHIR, AI Provenance: the activity is declared AI-asserted.
  const reasons = (provenance.reason ?? []).flatMap((r) => r.coding ?? []);
  return hasAiast(reasons)
    ? []
    : [issue('Provenance.reason', 'reason must include AIAST (v3-ObservationValue)')];
}

function draftReportIssues(report: DiagnosticReport): OperationOutcomeIssue[] {
  // Only fhir-fusion's AI drafts are checked; a person's report is not AI-asserted.
  if (!report.meta?.profile?.includes(DRAFT_REPORT_PROFILE)) return [];
  return hasAiast(report.meta.security)
    ? []
    : [issue('DiagnosticReport.meta.security', 'meta.security must include AIAST (v3-ObservationValue)')];
}

/**
 * Invariants fhir-fusion relies on that medplum's validator does not evaluate in every position
 * (it checks profile constraints only on the profile's top-level elements and does not check
 * slices inside data types such as `meta.security`). Returns error issues; empty when satisfied.
 */
export function checkFusionInvariants(resource: Resource): OperationOutcomeIssue[] {
  switch (resource.resourceType) {
    case 'RiskAssessment':
      return riskAssessmentIssues(resource);
    case 'Provenance':
      return provenanceIssues(resource);
    case 'DiagnosticReport':
      return draftReportIssues(resource);
    default:
      return [];
  }
}
