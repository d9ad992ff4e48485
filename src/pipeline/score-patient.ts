import { missingModalities } from '../contracts/patient-record.js';
import type { PatientRecord } from '../contracts/patient-record.js';
import type { AssessmentResult } from '../contracts/assessment-result.js';
import type { Metrics } from '../observability/create-metrics.js';
import type { AssessPatientDeps } from './stage-types.js';
import type { ServedModel } from '../contracts/served-model.js';
import type { Queryable } from '../store/sql.js';
import type { LedgerEntry, WritebackIntent } from '../store/ledger-repository.js';
import { dropIntent, intentsForPatient, recordAssessment, recordIntent } from '../store/ledger-repository.js';
import { assessmentIdentity } from '../contracts/assessment-identity.js';
import { createDisabledStageClock } from '../observability/stage-clock.js';

/** Outcome of scoring one patient with every model. */
export interface PatientScore {
  written: number;
  /** Models skipped for lack of a required modality, with the reason. */
  skipped: Array<{ model: string; reason: string }>;
  /**
   * The AI-drafted description (issue #20), when a drafter is configured: `written` with the
   * reference, or `not-drafted` with why (plain text, never a patient value).
   */
  draft?: { status: 'written'; outcome: 'created' | 'exists'; reference: string } | { status: 'not-drafted'; reason: string };
}

/**
 * Scores one assembled record with every served model and writes each result back, then records
 * it in the ledger. The per-patient job and the backfill both use it, so a backfilled assessment is
 * indistinguishable from a notified one and shares its identity: a patient scored again after a
 * crash gets `exists`, never a second RiskAssessment.
 */
export async function scorePatient(
  record: PatientRecord,
  deps: Pick<AssessPatientDeps, 'predict' | 'write' | 'locate' | 'draft'> & {
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
  // Without metrics (tests, tools) nothing is timed; the job and the backfill pass theirs.
  const clock = deps.metrics?.stageClock ?? createDisabledStageClock();
  await clock.run('ledger', () => settleInterruptedWrites(patientId, deps));
  // Drafted once per record; it rides in the transaction of the first assessment written (issue #20).
  const drafted = deps.draft ? await clock.run('inference', () => deps.draft!(record, deps.traceId)) : undefined;
  if (drafted?.status === 'not-drafted') score.draft = { status: 'not-drafted', reason: drafted.reason };
  let pendingDraft = drafted?.status === 'drafted' ? drafted.draft : undefined;
  for (const model of deps.models) {
    const lacking = model.manifest.applicability.requires.filter((m) => missing.some((x) => x.modality === m));
    if (lacking.length > 0) {
      score.skipped.push({ model: `${model.manifest.name}@${model.manifest.version}`, reason: `requires ${lacking.join(', ')}` });
      continue;
    }
    const t1 = process.hrtime.bigint();
    const { output, basis, missing: modelMissing, notAssessed, unusedInputs, inputSummary, localisation } = await deps.predict(record, model);
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
      ...(localisation ? { localisation } : {}),
      occurredAt: record.asOf,
      traceId: deps.traceId,
    };
    const intent: WritebackIntent = {
      identity: assessmentIdentity(result),
      patientId,
      modelName: model.manifest.name,
      modelVersion: model.manifest.version,
      executionProvider: output.executionProvider,
      predictions: output.predictions.map((p) => {
        const coding = model.manifest.outcomes[p.outcomeIndex]?.coding;
        return {
          outcome: coding?.display ?? String(p.outcomeIndex),
          // The code lets the model monitor join outcomes that arrive later (issue 19 point 5).
          ...(coding ? { system: coding.system, code: coding.code } : {}),
          probability: p.probability,
          qualitativeRisk: p.qualitativeRisk,
        };
      }),
      missingModalities: result.missing.map((m) => `${m.modality}: ${m.reason}`),
      traceId: deps.traceId,
      ...(inputSummary ? { inputSummary } : {}),
    };
    // Write-ahead: a crash between the EHR's commit and the ledger row leaves this intent, which
    // the next scoring of the patient settles (settleInterruptedWrites).
    await clock.run('ledger', () => recordIntent(deps.db, intent));
    const t2 = process.hrtime.bigint();
    const draft = pendingDraft;
    const written = await clock.run('write-back', () => deps.write(result, model, draft ? { draft } : undefined));
    if (draft && written.draftReport) {
      score.draft = { status: 'written', ...written.draftReport };
      pendingDraft = undefined;
    } else if (draft && written.draftRefused) {
      score.draft = { status: 'not-drafted', reason: `the EHR refused the draft: ${written.draftRefused}` };
      pendingDraft = undefined;
    }
    deps.metrics?.stageSeconds.observe({ stage: 'writeback' }, seconds(t2));
    deps.metrics?.writebacks.inc({ outcome: written.outcome });
    await clock.run('ledger', () =>
      recordAssessment(deps.db, {
        ...intent,
        identity: written.identity,
        riskAssessmentRef: written.riskAssessmentRef,
        provenanceRef: written.provenanceRef,
        outcome: written.outcome,
      }),
    );
    // After the ledger row: a PACS that is down leaves the FHIR write recorded, and the retry
    // (the job's, on this throw) stores the same SEG.
    if (written.storeDerived) await clock.run('write-back', written.storeDerived);
    score.written++;
  }
  if (pendingDraft) score.draft = { status: 'not-drafted', reason: 'no assessment was written to carry the draft' };
  return score;
}

/**
 * Accounts for write-backs of this patient that a killed run left between the EHR's commit and
 * the ledger row: one the EHR holds gets its ledger row (as `exists`: it was found in the EHR, and
 * whether the killed run or an earlier one created it is not known), one it does not hold is forgotten (the transaction never committed; scoring
 * again writes whatever the inputs now call for). Without this, a retry that scores newer inputs
 * than the killed run leaves a RiskAssessment in the EHR that the ledger does not know.
 */
export async function settleInterruptedWrites(
  patientId: string,
  deps: Pick<AssessPatientDeps, 'locate'> & { db: Queryable },
): Promise<void> {
  for (const intent of await intentsForPatient(deps.db, patientId)) {
    const found = await deps.locate(intent.identity);
    if (!found) {
      await dropIntent(deps.db, intent.identity);
      continue;
    }
    const entry: LedgerEntry = { ...intent, ...found, outcome: 'exists' };
    await recordAssessment(deps.db, entry);
  }
}
