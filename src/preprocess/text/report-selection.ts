import type { DiagnosticReport } from '@medplum/fhirtypes';
import { AIAST } from '../../contracts/fusion-terminology.js';

/** Statuses whose text may be used (FHIR R4 DiagnosticReportStatus; `preliminary` is not final). */
const USABLE = new Set(['final', 'amended', 'corrected', 'appended']);

/** The time a report is about: effective[x], else `issued`. */
export function reportTime(report: DiagnosticReport): number | undefined {
  for (const c of [report.effectiveDateTime, report.effectivePeriod?.end, report.effectivePeriod?.start, report.issued]) {
    if (typeof c === 'string') {
      const t = Date.parse(c);
      if (Number.isFinite(t)) return t;
    }
  }
  return undefined;
}

/**
 * Whether the report carries the AI-asserted security label (`meta.security` AIAST, HL7 AI
 * Transparency IG): an AI-drafted description, even one a clinician accepted as final, is model
 * output, and feeding it back as model input would let a model learn from, and repeat, its own text.
 */
function aiAsserted(report: DiagnosticReport): boolean {
  return (report.meta?.security ?? []).some((c) => c.code === AIAST.code && c.system === AIAST.system);
}

/**
 * Reports the text modality may use: usable status, not AI-asserted, a category the manifest accepts (v2-0074
 * codes such as `RAD`, matched on `category.coding.code`; an empty list accepts all), time inside
 * `(asOf - lookbackHours, asOf]`; newest first, so truncation drops the oldest text.
 */
export function selectReports(reports: readonly DiagnosticReport[], categories: readonly string[], lookbackHours: number, asOf: Date): DiagnosticReport[] {
  const end = asOf.getTime();
  const start = end - lookbackHours * 3_600_000;
  const accepted = new Set(categories);
  return reports
    .filter((r) => r && r.resourceType === 'DiagnosticReport' && USABLE.has(r.status ?? '') && !aiAsserted(r))
    .filter((r) => accepted.size === 0 || (r.category ?? []).some((c) => (c.coding ?? []).some((k) => k.code !== undefined && accepted.has(k.code))))
    .map((r) => ({ r, t: reportTime(r) }))
    .filter((x): x is { r: DiagnosticReport; t: number } => x.t !== undefined && x.t > start && x.t <= end)
    .sort((a, b) => b.t - a.t)
    .map((x) => x.r);
}
