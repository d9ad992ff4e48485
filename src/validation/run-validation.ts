import type { Condition, Encounter, Resource } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { ExportParameters } from '../backfill/bulk-data-client.js';
import { kickOffExport, kickOffUrl, pollExport, streamNdjson } from '../backfill/bulk-data-client.js';
import { exportedPatientId, groupPatientResources } from '../backfill/group-patient-resources.js';
import type { BackfillDeps } from '../backfill/run-backfill.js';
import { missingModalities } from '../contracts/patient-record.js';
import type { PatientRecord } from '../contracts/patient-record.js';
import type { ServedModel } from '../contracts/served-model.js';
import { ageBand, labelOutcome } from './label-outcomes.js';
import type { LabelWindow, OutcomeLabel } from './label-outcomes.js';
import type { GroupMetrics, ScoredCase } from './validation-metrics.js';
import { VALIDATION_METHOD, outcomeMetrics } from './validation-metrics.js';

/** What `validate` needs: the backfill's export fetch, assembly and predict stage (never its write). */
export type ValidationDeps = Pick<BackfillDeps, 'fetch' | 'assemble' | 'predict' | 'sleep'> & {
  logger: Logger;
  models: readonly ServedModel[];
};

/** What to validate. */
export interface ValidationOptions {
  fhirBaseUrl: string;
  /** Export level and `_since` (Bulk Data 2.0 §Query Parameters); `_type` is set here. */
  export: Pick<ExportParameters, 'level' | 'groupId' | 'since'>;
  /** Outcome codes to validate (manifest `outcomes[].coding.code`); empty = all of each model's. */
  outcomes: readonly string[];
  window: LabelWindow;
  /** Assessment time; default the export's `transactionTime` minus the label window. */
  asOf?: Date;
}

/** One outcome's local validation. */
export interface OutcomeValidation {
  code: string;
  system: string;
  display: string;
  /** Scored and labelled: in the metrics. */
  evaluated: number;
  /** A matching Condition was recorded at or before the assessment time: left out. */
  prevalentExcluded: number;
  /** The model gave no probability for this outcome (abstention), by reason. */
  notAssessed: Record<string, number>;
  overall: GroupMetrics;
  subgroups: Record<string, GroupMetrics>;
  /** The cases the metrics were computed from (label, probability; no identifiers), for re-checks. */
  cases: Array<{ label: 0 | 1; probability: number }>;
}

/** One model's local validation. */
export interface ModelValidation {
  model: string;
  sha256: string;
  /** Patients the model scored. */
  assessed: number;
  /** Patients the model could not score at all (a required modality missing), by reason. */
  abstained: Record<string, number>;
  outcomes: OutcomeValidation[];
}

/** The local-validation report (`report.json`). */
export interface ValidationReport {
  kind: 'fhir-fusion local validation';
  generatedAt: string;
  asOf: string;
  exportTransactionTime: string;
  since: string | null;
  labelDefinition: string;
  window: LabelWindow;
  method: string;
  patients: { exported: number; withoutPatientResource: number };
  models: ModelValidation[];
}

const TYPES = ['Patient', 'Observation', 'DiagnosticReport', 'ImagingStudy', 'Condition', 'Encounter'];

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Local validation on the hospital's own records (issue 19 point 5): exports past patients with
 * the backfill's Bulk Data client, assembles each record as of the assessment time with the same
 * assembly and preprocessing as `serve` (so nothing recorded later leaks into the inputs), scores
 * it with the served models' predict stage — no RiskAssessment is written — labels each outcome
 * from later Conditions ({@link labelOutcome}), and computes discrimination and calibration with
 * bootstrap intervals overall and per age band and sex. Patients a model cannot assess are
 * counted by reason, never dropped silently.
 */
export async function runValidation(
  deps: ValidationDeps,
  options: ValidationOptions,
): Promise<ValidationReport> {
  const url = kickOffUrl(options.fhirBaseUrl, { ...options.export, types: TYPES });
  const manifest = await pollExport(deps.fetch, await kickOffExport(deps.fetch, url), { sleep: deps.sleep });
  const asOf =
    options.asOf ?? new Date(Date.parse(manifest.transactionTime) - options.window.days * 86_400_000);

  const rows: Array<{ patientId: string; resource: Resource }> = [];
  const conditions = new Map<string, Condition[]>();
  const encounters = new Map<string, Encounter[]>();
  for (const file of manifest.output) {
    for await (const resource of streamNdjson(deps.fetch, file.url)) {
      const patientId = exportedPatientId(resource);
      if (resource.resourceType === 'Condition')
        conditions.set(patientId, [...(conditions.get(patientId) ?? []), resource]);
      else if (resource.resourceType === 'Encounter')
        encounters.set(patientId, [...(encounters.get(patientId) ?? []), resource]);
      else rows.push({ patientId, resource });
    }
  }
  const grouped = groupPatientResources(rows);
  const patientIds = [...grouped.keys()].sort();
  const withoutPatient = new Set(rows.map((r) => r.patientId).filter((id) => id !== '' && !grouped.has(id)))
    .size;

  const models = deps.models.map((model) => ({
    model,
    assessed: 0,
    abstained: {} as Record<string, number>,
    outcomes: model.manifest.outcomes
      .filter((o) => options.outcomes.length === 0 || options.outcomes.includes(o.coding.code))
      .map((o) => ({
        outcome: o,
        cases: [] as ScoredCase[],
        prevalent: 0,
        notAssessed: {} as Record<string, number>,
      })),
  }));
  for (const patientId of patientIds) {
    const resources = grouped.get(patientId)!;
    let record: PatientRecord;
    try {
      record = await deps.assemble(resources, asOf);
    } catch (err) {
      // One unreadable record is a count in the report, not the end of the run (error name only:
      // messages can carry URLs with patient ids).
      for (const entry of models) bump(entry.abstained, `assembly failed: ${(err as Error).name}`);
      continue;
    }
    const missing = missingModalities(record);
    const subgroups = [
      ageBand(resources.patient.birthDate, asOf),
      `sex ${resources.patient.gender ?? 'unknown'}`,
    ];
    for (const entry of models) {
      const lacking = entry.model.manifest.applicability.requires.filter((m) =>
        missing.some((x) => x.modality === m),
      );
      if (lacking.length > 0) {
        bump(entry.abstained, `requires ${lacking.join(', ')}`);
        continue;
      }
      let predicted: Awaited<ReturnType<ValidationDeps['predict']>>;
      try {
        predicted = await deps.predict(record, entry.model);
      } catch (err) {
        bump(entry.abstained, `scoring failed: ${(err as Error).name}`);
        continue;
      }
      const { output, notAssessed } = predicted;
      entry.assessed++;
      for (const o of entry.outcomes) {
        const label: OutcomeLabel = labelOutcome(
          conditions.get(patientId) ?? [],
          encounters.get(patientId) ?? [],
          o.outcome.coding,
          asOf,
          options.window,
        );
        const prediction = output.predictions.find((p) => p.outcomeIndex === o.outcome.index);
        if (!prediction) {
          const why = notAssessed?.find((n) => n.outcomeIndex === o.outcome.index);
          bump(o.notAssessed, why ? `${why.reason}: ${why.detail}` : 'no probability');
        } else if (label === 'prevalent') o.prevalent++;
        else
          o.cases.push({
            label: label === 'positive' ? 1 : 0,
            probability: prediction.probability,
            subgroups,
          });
      }
    }
  }

  const report: ValidationReport = {
    kind: 'fhir-fusion local validation',
    generatedAt: new Date().toISOString(),
    asOf: asOf.toISOString(),
    exportTransactionTime: manifest.transactionTime,
    since: options.export.since ?? null,
    labelDefinition:
      `positive: a Condition with the outcome's code (not refuted / entered-in-error) recorded (recordedDate, else onset, ` +
      `else the end of the Encounter whose diagnosis lists it) after the assessment time and at most ${options.window.days} ` +
      `days later; prevalent (excluded, counted): one recorded at or before the assessment time; negative: neither`,
    window: options.window,
    method: VALIDATION_METHOD,
    patients: { exported: patientIds.length, withoutPatientResource: withoutPatient },
    models: models.map((entry) => {
      const name = `${entry.model.manifest.name}@${entry.model.manifest.version}`;
      return {
        model: name,
        sha256: entry.model.sha256,
        assessed: entry.assessed,
        abstained: entry.abstained,
        outcomes: entry.outcomes.map((o) => ({
          code: o.outcome.coding.code,
          system: o.outcome.coding.system,
          display: o.outcome.coding.display,
          evaluated: o.cases.length,
          prevalentExcluded: o.prevalent,
          notAssessed: o.notAssessed,
          ...outcomeMetrics(o.cases, `validate/${name}/${o.outcome.coding.code}`),
          cases: o.cases.map((c) => ({ label: c.label, probability: c.probability })),
        })),
      };
    }),
  };
  deps.logger.info(
    { patients: patientIds.length, models: report.models.length },
    'local validation finished',
  );
  return report;
}
