import type { DiagnosticReport } from '@medplum/fhirtypes';
import type { CaseHit, CaseIndex } from './case-index.js';

/** A past case the caller may see: the index hit, its report's reference, and the report as the EHR returned it. */
export interface VisibleNeighbour {
  hit: CaseHit;
  reportRef: string;
  report: DiagnosticReport;
}

/**
 * Reads each hit's ECG report with the caller's own access (`read` answers `undefined` when the
 * EHR refuses or lacks it) and keeps the first `count` the caller may see, most similar first. A
 * hit without a report, or one the caller cannot read, is left out and never disclosed.
 */
export async function visibleNeighbours(
  hits: readonly CaseHit[],
  count: number,
  read: (reference: string) => Promise<DiagnosticReport | undefined>,
): Promise<VisibleNeighbour[]> {
  const out: VisibleNeighbour[] = [];
  for (const hit of hits) {
    if (out.length >= count) break;
    if (!hit.reportRef) continue;
    const report = await read(hit.reportRef);
    if (report) out.push({ hit, reportRef: hit.reportRef, report });
  }
  return out;
}

/** Neighbours to ask the index for so that `count` remain after hidden and report-less ones. */
export function neighboursToFetch(count: number): number {
  return Math.min(count * 3, count + 50);
}

/**
 * The patient's nearest past cases by ECG (never the patient), as visible to the caller, or
 * `undefined` when the patient has no indexed ECG yet.
 */
export async function similarCasesOf(
  index: CaseIndex,
  patientRef: string,
  count: number,
  read: (reference: string) => Promise<DiagnosticReport | undefined>,
): Promise<VisibleNeighbour[] | undefined> {
  const query = await index.ecgEmbeddingOf(patientRef);
  if (!query) return undefined;
  return visibleNeighbours(await index.nearestByEcg(query, neighboursToFetch(count), patientRef), count, read);
}
