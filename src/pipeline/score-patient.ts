import { missingModalities } from '../contracts/patient-record.js';
import type { PatientRecord } from '../contracts/patient-record.js';
import type { AssessmentResult } from '../contracts/assessment-result.js';
import type { Metrics } from '../observability/create-metrics.js';
import type { AssessPatientDeps } from './stage-types.js';
import type { ServedModel } from '../contracts/served-model.js';
import type { Queryable } from '../store/sql.js';
import { recordAssessment } from '../store/ledger-repository.js';

/** Outcome of scoring one patient with every model. */
export interface PatientScore {
  written: number;
  /** Models skipped for lack of a required modality, with the reason. */
  skipped: Array<{ model: string; reason: string }>;
}

/**
 * Scores one assembled record with every served model and writes each result back, then records
 * it in the ledger. The per-patient job and the backfill both use it, so a backfilled assessment is
 * indistinguishable from a notified one and shares its identity: a patient scored again after a
 * crash gets `exists`, never a second RiskAssessment.
 */
export async function scorePatient(
  record: PatientRecord,
  deps: Pick<AssessPatientDeps, 'predict' | 'write'> & {
    db: Queryable;
    models: readonly ServedModel[];
    traceId: string;
    metrics?: Metrics;
  },
): Promise<PatientScore> {
  const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;
  const patientId = record.patient.id ?? '';
  const missing = missingModalities(record);
  const score: PatientScore = { written: 0, skipped: [] };
  for (const model of deps.models) {
    const lacking = model.manifest.applicability.requires.filter((m) => missing.some((x) => x.modality === m));
    if (lacking.length > 0) {
      score.skipped.push({ model: `${model.manifest.name}@${model.manifest.version}`, reason: `requires ${lacking.join(', ')}` });
      continue;
    }
    const t1 = process.hrtime.bigint();
    const { output, basis, missing: modelMissing, notAssessed, unusedInputs } = await deps.predict(record, model);
    deps.metrics?.stageSeconds.observe({ stage: 'inference' }, seconds(t1));
    const result: AssessmentResult = {
      ...output,
      modelName: model.manifest.name,
      modelVersion: model.manifest.version,
      modelSha256: model.sha256,
      patientId,
      basis,
      missing: modelMissing,
      ...(notAssessed?.length ? { notAssessed } : {}),
      ...(unusedInputs?.length ? { unusedInputs } : {}),
      occurredAt: record.asOf,
      traceId: deps.traceId,
    };
    const t2 = process.hrtime.bigint();
    const written = await deps.write(result, model);
    deps.metrics?.stageSeconds.observe({ stage: 'writeback' }, seconds(t2));
    deps.metrics?.writebacks.inc({ outcome: written.outcome });
    await recordAssessment(deps.db, {
      identity: written.identity,
      patientId,
      modelName: model.manifest.name,
      modelVersion: model.manifest.version,
      riskAssessmentRef: written.riskAssessmentRef,
      provenanceRef: written.provenanceRef,
      outcome: written.outcome,
      executionProvider: output.executionProvider,
      predictions: output.predictions.map((p) => ({
        outcome: model.manifest.outcomes[p.outcomeIndex]?.coding.display ?? String(p.outcomeIndex),
        probability: p.probability,
        qualitativeRisk: p.qualitativeRisk,
      })),
      missingModalities: result.missing.map((m) => `${m.modality}: ${m.reason}`),
      traceId: deps.traceId,
    });
    score.written++;
  }
  return score;
}
