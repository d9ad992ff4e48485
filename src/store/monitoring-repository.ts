import type { InputSummary } from '../contracts/model-monitoring.js';
import type { Queryable } from './sql.js';
import { run } from './sql.js';

/*
 * SQL of the model monitor (issue 19 point 5, migration 0012). Only ledger rows whose predictions
 * carry the outcome's code (written since migration 0012) take part: older rows cannot be joined
 * with the outcomes the EHR records.
 */

/** A written assessment whose outcomes are to be labelled. */
export interface AssessmentToLabel extends Record<string, unknown> {
  id: string;
  patient_id: string;
  model: string;
  created_at: Date;
  /** The outcome codings the assessment gave a probability for. */
  outcomes: Array<{ system: string; code: string }>;
}

/**
 * Assessments written in `[from, to]` (to: the newest whose label window has closed) that have no
 * outcome label yet, oldest first, at most `limit`.
 */
export async function assessmentsToLabel(
  db: Queryable,
  range: { from: Date; to: Date; limit: number },
): Promise<AssessmentToLabel[]> {
  return run<AssessmentToLabel>(db, {
    text: `SELECT l.id, l.patient_id, l.model_name || '@' || l.model_version AS model, l.created_at,
                  (SELECT jsonb_agg(jsonb_build_object('system', p->>'system', 'code', p->>'code'))
                     FROM jsonb_array_elements(l.predictions) p WHERE p ? 'code') AS outcomes
             FROM assessment_ledger l
            WHERE l.created_at >= $1 AND l.created_at <= $2
              AND EXISTS (SELECT 1 FROM jsonb_array_elements(l.predictions) p WHERE p ? 'code')
              AND NOT EXISTS (SELECT 1 FROM assessment_outcome_labels o WHERE o.ledger_id = l.id)
            ORDER BY l.created_at, l.id
            LIMIT $3`,
    values: [range.from, range.to, range.limit],
  });
}

/** One outcome label of one assessment. */
export interface OutcomeLabelRow {
  ledgerId: string;
  system: string;
  code: string;
  label: 'positive' | 'negative' | 'prevalent';
  windowDays: number;
}

/** Stores labels; a label already stored (another instance labelled it first) is kept. */
export async function recordOutcomeLabels(db: Queryable, labels: readonly OutcomeLabelRow[]): Promise<void> {
  if (labels.length === 0) return;
  await db.query(
    `INSERT INTO assessment_outcome_labels (ledger_id, outcome_system, outcome_code, label, window_days)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[])
     ON CONFLICT DO NOTHING`,
    [
      labels.map((l) => l.ledgerId),
      labels.map((l) => l.system),
      labels.map((l) => l.code),
      labels.map((l) => l.label),
      labels.map((l) => l.windowDays),
    ],
  );
}

/** One labelled prediction: no patient identifier leaves the database. */
export interface LabelledPrediction extends Record<string, unknown> {
  model: string;
  system: string;
  code: string;
  label: 'positive' | 'negative' | 'prevalent';
  probability: number;
}

/**
 * The labelled predictions of assessments written in `[from, to]`: per patient, model and outcome
 * only the latest assessment, so a patient assessed ten times counts once (repeated assessments
 * of one patient are not independent cases, and the bootstrap resamples patients).
 */
export async function labelledPredictions(
  db: Queryable,
  range: { from: Date; to: Date },
): Promise<LabelledPrediction[]> {
  return run<LabelledPrediction>(db, {
    text: `SELECT model, system, code, label, probability FROM (
             SELECT DISTINCT ON (l.patient_id, l.model_name, l.model_version, o.outcome_system, o.outcome_code)
                    l.model_name || '@' || l.model_version AS model, o.outcome_system AS system,
                    o.outcome_code AS code, o.label,
                    (SELECT (p->>'probability')::float8 FROM jsonb_array_elements(l.predictions) p
                      WHERE p->>'system' = o.outcome_system AND p->>'code' = o.outcome_code LIMIT 1) AS probability
               FROM assessment_ledger l JOIN assessment_outcome_labels o ON o.ledger_id = l.id
              WHERE l.created_at >= $1 AND l.created_at <= $2
              ORDER BY l.patient_id, l.model_name, l.model_version, o.outcome_system, o.outcome_code,
                       l.created_at DESC, l.id DESC) latest
            WHERE probability IS NOT NULL`,
    values: [range.from, range.to],
  });
}

/** Per model, assessments written after `after` (their label window is still open). */
export async function assessmentsWrittenAfter(db: Queryable, after: Date): Promise<Record<string, number>> {
  const rows = await run<{ model: string; n: number }>(db, {
    text: `SELECT model_name || '@' || model_version AS model, count(*)::int AS n
             FROM assessment_ledger WHERE created_at > $1
              AND EXISTS (SELECT 1 FROM jsonb_array_elements(predictions) p WHERE p ? 'code')
            GROUP BY 1`,
    values: [after],
  });
  return Object.fromEntries(rows.map((r) => [r.model, r.n]));
}

/** The input summaries of assessments written since `since`, per model (drift window). */
export async function inputSummariesSince(
  db: Queryable,
  since: Date,
): Promise<Array<{ model: string; summary: InputSummary }>> {
  const rows = await run<{ model: string; input_summary: InputSummary }>(db, {
    text: `SELECT model_name || '@' || model_version AS model, input_summary
             FROM assessment_ledger WHERE created_at >= $1 AND input_summary IS NOT NULL`,
    values: [since],
  });
  return rows.map((r) => ({ model: r.model, summary: r.input_summary }));
}
