import type { Bundle, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { AIAST, CODE_SYSTEMS } from '../../contracts/fusion-terminology.js';

/** The newest fhir-fusion RiskAssessment of one model for the patient. */
export interface LatestAssessment {
  /** Manifest `name` (RiskAssessment.method coding in the fhir-fusion model code system). */
  modelName: string;
  assessment: RiskAssessment;
  /** When it was made (occurrenceDateTime, else meta.lastUpdated), ms since the epoch. */
  at: number;
}

function resources(input: Bundle | readonly Resource[]): Resource[] {
  if (Array.isArray(input)) return [...input];
  const bundle = input as Bundle;
  return (bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
}

function assessedAt(ra: RiskAssessment): number {
  const when = ra.occurrenceDateTime ?? ra.meta?.lastUpdated;
  const ms = when ? Date.parse(when) : Number.NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

/**
 * From a search result (a prefetch Bundle or fetched resources), the newest assessment per model
 * that fhir-fusion wrote for `patientId`: AIAST-labelled (HL7 AI Transparency), method coded in the
 * fhir-fusion model system, for this subject, and not withdrawn (`entered-in-error`/`cancelled`;
 * FHIR R4 RiskAssessment.status). A prefetch may hold other resources (OperationOutcome entries
 * with search mode `outcome`); they are ignored. `models`, when non-empty, keeps only those names.
 */
export function selectLatestAssessments(
  input: Bundle | readonly Resource[],
  patientId: string,
  models: readonly string[] = [],
): LatestAssessment[] {
  const latest = new Map<string, LatestAssessment>();
  for (const resource of resources(input)) {
    if (resource.resourceType !== 'RiskAssessment') continue;
    const ra = resource;
    if (ra.status === 'entered-in-error' || ra.status === 'cancelled') continue;
    if (ra.subject?.reference !== `Patient/${patientId}`) continue;
    if (!ra.meta?.security?.some((s) => s.system === AIAST.system && s.code === AIAST.code)) continue;
    const modelName = ra.method?.coding?.find((c) => c.system === CODE_SYSTEMS.model)?.code;
    if (!modelName) continue;
    if (models.length > 0 && !models.includes(modelName)) continue;
    const at = assessedAt(ra);
    const current = latest.get(modelName);
    if (!current || at > current.at) latest.set(modelName, { modelName, assessment: ra, at });
  }
  return [...latest.values()];
}
