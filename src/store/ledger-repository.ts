import type { InputSummary } from '../contracts/model-monitoring.js';
import type { Queryable } from './sql.js';
import { run } from './sql.js';

/** One written assessment. */
export interface LedgerEntry {
  identity: string;
  patientId: string;
  modelName: string;
  modelVersion: string;
  riskAssessmentRef: string;
  provenanceRef: string;
  outcome: 'created' | 'exists';
  executionProvider: string;
  /** `system`/`code`: the outcome's coding (absent on rows written before migration 0012). */
  predictions: Array<{ outcome: string; system?: string; code?: string; probability: number; qualitativeRisk: string }>;
  missingModalities: string[];
  traceId: string;
  /** What the model was fed, for input-drift monitoring (migration 0012). */
  inputSummary?: InputSummary;
}

/** What is known of a write-back before the EHR answers: its ledger entry less the EHR's side. */
export type WritebackIntent = Omit<LedgerEntry, 'riskAssessmentRef' | 'provenanceRef' | 'outcome'>;

/**
 * Records a write-back about to be sent (write-ahead, migration 0010): if the process dies after
 * the EHR commits and before {@link recordAssessment}, the intent says what to look for.
 */
export async function recordIntent(db: Queryable, intent: WritebackIntent): Promise<void> {
  await db.query(
    `INSERT INTO writeback_intents (identity, patient_id, entry) VALUES ($1, $2, $3)
     ON CONFLICT (identity) DO NOTHING`,
    [intent.identity, intent.patientId, JSON.stringify(intent)],
  );
}

/** Intents of one patient left by a run that did not finish, oldest first. */
export async function intentsForPatient(db: Queryable, patientId: string): Promise<WritebackIntent[]> {
  const rows = await run<{ entry: WritebackIntent }>(db, {
    text: 'SELECT entry FROM writeback_intents WHERE patient_id = $1 ORDER BY created_at',
    values: [patientId],
  });
  return rows.map((r) => r.entry);
}

/** Forgets an intent whose write the EHR never committed. */
export async function dropIntent(db: Queryable, identity: string): Promise<void> {
  await db.query('DELETE FROM writeback_intents WHERE identity = $1', [identity]);
}

/**
 * Records a write-back and clears its intent in one statement; a second record of the same
 * identity is a no-op (exactly-once out).
 */
export async function recordAssessment(db: Queryable, entry: LedgerEntry): Promise<boolean> {
  const rows = await run<{ id: string }>(db, {
    text: `WITH done AS (DELETE FROM writeback_intents WHERE identity = $1)
           INSERT INTO assessment_ledger
             (identity, patient_id, model_name, model_version, risk_assessment_ref, provenance_ref, outcome,
              execution_provider, predictions, missing_modalities, trace_id, input_summary)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (identity) DO NOTHING RETURNING id`,
    values: [
      entry.identity,
      entry.patientId,
      entry.modelName,
      entry.modelVersion,
      entry.riskAssessmentRef,
      entry.provenanceRef,
      entry.outcome,
      entry.executionProvider,
      JSON.stringify(entry.predictions),
      entry.missingModalities,
      entry.traceId,
      entry.inputSummary ? JSON.stringify(entry.inputSummary) : null,
    ],
  });
  return rows.length > 0;
}

/** Most recent ledger rows, newest first (demo page, CLI). */
export async function recentAssessments(
  db: Queryable,
  limit: number,
): Promise<Array<Record<string, unknown> & { risk_assessment_ref: string; created_at: Date }>> {
  return run(db, {
    text: 'SELECT * FROM assessment_ledger ORDER BY created_at DESC, id DESC LIMIT $1',
    values: [limit],
  });
}

/** The dead-letter record of a job the EHR refused or that ran out of retries. */
export async function recordDeadLetter(
  db: Queryable,
  letter: { jobId: string; queue: string; patientId?: string; reason: unknown; traceId?: string },
): Promise<void> {
  await db.query(
    `INSERT INTO dead_letters (job_id, queue, patient_id, reason, trace_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (job_id) DO NOTHING`,
    [letter.jobId, letter.queue, letter.patientId ?? null, JSON.stringify(letter.reason), letter.traceId ?? null],
  );
}

/** A ledger row as the demo's live feed prints it (no patient data beyond our own references). */
export interface LedgerFeedRow extends Record<string, unknown> {
  id: string;
  risk_assessment_ref: string;
  model_name: string;
  model_version: string;
  predictions: Array<{ outcome: string; probability: number; qualitativeRisk: string }>;
  missing_modalities: string[];
  execution_provider: string;
}

/** The newest ledger row id, 0 when the ledger is empty (where a live feed starts). */
export async function latestAssessmentId(db: Queryable): Promise<number> {
  const [row] = await run<{ id: string }>(db, { text: 'SELECT coalesce(max(id), 0) AS id FROM assessment_ledger', values: [] });
  return Number(row?.id ?? 0);
}

/** Ledger rows written after row `afterId`, oldest first (the demo's live feed). */
export async function assessmentsAfter(db: Queryable, afterId: number): Promise<LedgerFeedRow[]> {
  return run<LedgerFeedRow>(db, { text: 'SELECT * FROM assessment_ledger WHERE id > $1 ORDER BY id', values: [afterId] });
}

/** A dead-letter row as `fhir-fusion jobs failed` prints it: job id, queue, time and OperationOutcome. */
export interface DeadLetterRow extends Record<string, unknown> {
  job_id: string;
  queue: string;
  failed_at: Date;
  reason: { issue?: Array<{ code?: string; diagnostics?: string }> };
}

/** The newest `limit` dead letters, newest first. */
export async function recentDeadLetters(db: Queryable, limit: number): Promise<DeadLetterRow[]> {
  return run<DeadLetterRow>(db, {
    text: 'SELECT job_id, queue, failed_at, reason FROM dead_letters ORDER BY failed_at DESC LIMIT $1',
    values: [limit],
  });
}

/** How many dead letters there are. */
export async function deadLetterCount(db: Queryable): Promise<number> {
  const [row] = await run<{ n: number }>(db, { text: 'SELECT count(*)::int AS n FROM dead_letters', values: [] });
  return row?.n ?? 0;
}
