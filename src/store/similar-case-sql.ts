import type { Sql } from './sql.js';

/*
 * SQL of the similar-case index (migration `similar_case`; #22: all SQL in store/). The HNSW graphs
 * live in memory (similar-cases/case-index.ts); Postgres holds the rows they are built from, and
 * `change_seq` says which version of a row a graph holds.
 */

/** A row as the graphs load it. */
export interface SimilarCaseEmbeddingRow extends Record<string, unknown> {
  case_key: string;
  change_seq: string;
  indexed_at: Date;
  ecg_embedding: number[];
  report_embedding: number[] | null;
}

/** A row as a search result is hydrated from it. */
export interface SimilarCaseRow extends Record<string, unknown> {
  case_key: string;
  patient_ref: string;
  ecg_ref: string;
  report_ref: string | null;
  ecg_recorded: Date | null;
}

/** What {@link upsertSimilarCaseSql} stores for one patient. */
export interface SimilarCaseValues {
  patientRef: string;
  ecgRef: string;
  reportRef?: string;
  ecgRecorded?: string;
  model: string;
  ecgEmbedding: readonly number[];
  reportEmbedding?: readonly number[];
}

const EMBEDDING_COLUMNS = 'case_key, change_seq, indexed_at, ecg_embedding, report_embedding';

/** The `case_key` of a patient's row under `model` (rows: `{ case_key }`). */
export function caseKeyOfPatientSql(patientRef: string, model: string): Sql {
  return { text: 'SELECT case_key FROM similar_case WHERE patient_ref = $1 AND model = $2', values: [patientRef, model] };
}

/** The hydration columns of the rows with these keys (rows: {@link SimilarCaseRow}). */
export function similarCasesByKeySql(keys: readonly string[]): Sql {
  return {
    text: 'SELECT case_key, patient_ref, ecg_ref, report_ref, ecg_recorded FROM similar_case WHERE case_key = ANY($1::bigint[])',
    values: [[...keys]],
  };
}

/** Keys and versions of `model`'s rows indexed after `since` (rows: `{ case_key, change_seq }`). */
export function changedSimilarCasesSql(model: string, since: Date): Sql {
  return { text: 'SELECT case_key, change_seq FROM similar_case WHERE model = $1 AND indexed_at > $2', values: [model, since] };
}

/** The embeddings of the rows with these keys (rows: {@link SimilarCaseEmbeddingRow}). */
export function similarCaseEmbeddingsByKeySql(keys: readonly string[]): Sql {
  return { text: `SELECT ${EMBEDDING_COLUMNS} FROM similar_case WHERE case_key = ANY($1::bigint[])`, values: [[...keys]] };
}

/** Every row of `model`, for a rebuild (rows: {@link SimilarCaseEmbeddingRow}). */
export function similarCaseEmbeddingsOfModelSql(model: string): Sql {
  return { text: `SELECT ${EMBEDDING_COLUMNS} FROM similar_case WHERE model = $1`, values: [model] };
}

/**
 * Stores or replaces a patient's case; a replacement takes a new `change_seq` so that other
 * processes' graphs pick it up (rows: the stored {@link SimilarCaseEmbeddingRow}).
 */
export function upsertSimilarCaseSql(entry: SimilarCaseValues): Sql {
  return {
    text: `INSERT INTO similar_case (patient_ref, ecg_ref, report_ref, ecg_recorded, model, ecg_embedding, report_embedding)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (patient_ref) DO UPDATE SET ecg_ref = EXCLUDED.ecg_ref, report_ref = EXCLUDED.report_ref,
           ecg_recorded = EXCLUDED.ecg_recorded, model = EXCLUDED.model, ecg_embedding = EXCLUDED.ecg_embedding,
           report_embedding = EXCLUDED.report_embedding, indexed_at = clock_timestamp(),
           change_seq = nextval('similar_case_change_seq')
         RETURNING ${EMBEDDING_COLUMNS}`,
    values: [
      entry.patientRef,
      entry.ecgRef,
      entry.reportRef ?? null,
      entry.ecgRecorded ?? null,
      entry.model,
      [...entry.ecgEmbedding],
      entry.reportEmbedding ? [...entry.reportEmbedding] : null,
    ],
  };
}

/** A patient's stored ECG embedding under `model` (rows: `{ ecg_embedding }`). */
export function ecgEmbeddingOfPatientSql(patientRef: string, model: string): Sql {
  return { text: 'SELECT ecg_embedding FROM similar_case WHERE patient_ref = $1 AND model = $2', values: [patientRef, model] };
}
