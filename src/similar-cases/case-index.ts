import type { Pool } from 'pg';
import { run } from '../store/sql.js';
import {
  caseKeyOfPatientSql,
  changedSimilarCasesSql,
  ecgEmbeddingOfPatientSql,
  similarCaseEmbeddingsByKeySql,
  similarCaseEmbeddingsOfModelSql,
  similarCasesByKeySql,
  upsertSimilarCaseSql,
  type SimilarCaseEmbeddingRow,
  type SimilarCaseRow,
} from '../store/similar-case-sql.js';
import { createVectorIndex, type VectorIndex, type VectorIndexOptions } from './vector-index.js';

/** One indexed past case: references to the EHR resources, never their content. */
export interface IndexedCase {
  /** `Patient/{id}`. */
  patientRef: string;
  /** `Observation/{id}` (or `ImagingStudy/{id}`) of the ECG. */
  ecgRef: string;
  /** `DiagnosticReport/{id}` of the ECG interpretation, if any. */
  reportRef?: string;
  ecgRecorded?: string;
}

/** What to store for a patient: the references plus the model's embeddings. */
export interface CaseEmbeddings extends IndexedCase {
  ecgEmbedding: Float32Array;
  reportEmbedding?: Float32Array;
}

/** A neighbour found by a query. */
export interface CaseHit extends IndexedCase {
  /** Cosine similarity in [-1, 1]. */
  similarity: number;
}

/** The past-case index: rows in Postgres (`similar_case`), HNSW graphs in process. */
export interface CaseIndex {
  /** Reloads every row of this model from Postgres into fresh HNSW graphs; returns the count. */
  rebuild(): Promise<number>;
  /**
   * Pulls rows other processes inserted or changed since the last look into the graphs; returns
   * how many. Queries call it themselves (at most every `refreshIntervalMs`).
   */
  refresh(): Promise<number>;
  /** Stores (or replaces) a patient's case and updates the graphs. */
  upsert(entry: CaseEmbeddings): Promise<void>;
  /** The patient's stored ECG embedding, if indexed. */
  ecgEmbeddingOf(patientRef: string): Promise<Float32Array | undefined>;
  /** Past cases whose ECG embedding is nearest `query`, never those of `excludePatientRef`. */
  nearestByEcg(query: Float32Array, k: number, excludePatientRef?: string): Promise<CaseHit[]>;
  /** Past cases whose ECG embedding is nearest a text embedding (text → ECG). */
  nearestEcgToText(textEmbedding: Float32Array, k: number): Promise<CaseHit[]>;
  /** Past cases whose report embedding is nearest `query` (ECG → report). */
  nearestByReport(query: Float32Array, k: number, excludePatientRef?: string): Promise<CaseHit[]>;
  size(): number;
}

/** Options for {@link createCaseIndex}. */
export interface CaseIndexOptions extends Omit<VectorIndexOptions, 'dimensions'> {
  pool: Pool;
  /** `name@version` of the embedding model; rows of other models are not loaded. */
  model: string;
  dimensions: number;
  /** Queries pull other processes' new rows at most this often (default 500 ms; 0: every query). */
  refreshIntervalMs?: number;
}

/**
 * How far back a refresh looks before the newest `indexed_at` it has seen: a row committed late
 * (its statement began before a row already seen) still has a timestamp inside this margin.
 */
const COMMIT_SKEW_MS = 5000;


/**
 * Creates the case index. Postgres is the system of record; the HNSW graphs (ECG and report
 * embeddings) are derived: rebuilt by {@link CaseIndex.rebuild} on start, and brought up to date
 * with what other processes indexed by {@link CaseIndex.refresh} before queries. Row references are
 * looked up in Postgres per query (k rows by primary key), so graph and table cannot disagree on
 * what a key means.
 */
export function createCaseIndex(options: CaseIndexOptions): CaseIndex {
  const { pool, model, dimensions } = options;
  let ecg: VectorIndex = createVectorIndex({ ...options });
  let report: VectorIndex = createVectorIndex({ ...options });
  const vector = (v: Float32Array): number[] => Array.from(v);

  async function keyOf(patientRef: string | undefined): Promise<bigint | undefined> {
    if (!patientRef) return undefined;
    const [row] = await run<{ case_key: string }>(pool, caseKeyOfPatientSql(patientRef, model));
    return row ? BigInt(row.case_key) : undefined;
  }

  async function hydrate(hits: Array<{ key: bigint; similarity: number }>): Promise<CaseHit[]> {
    if (hits.length === 0) return [];
    const found = await run<SimilarCaseRow>(pool, similarCasesByKeySql(hits.map((h) => h.key.toString())));
    const rows = new Map(found.map((row) => [row.case_key, row]));
    return hits.flatMap((h) => {
      const row = rows.get(h.key.toString());
      if (!row) return [];
      return [{
        patientRef: row.patient_ref,
        ecgRef: row.ecg_ref,
        ...(row.report_ref ? { reportRef: row.report_ref } : {}),
        ...(row.ecg_recorded ? { ecgRecorded: row.ecg_recorded.toISOString() } : {}),
        similarity: h.similarity,
      }];
    });
  }

  // case_key → change_seq of the version in the graphs; newest indexed_at seen (ms).
  const known = new Map<string, string>();
  let newest = 0;
  let lastRefresh = 0;
  const refreshIntervalMs = options.refreshIntervalMs ?? 500;

  function apply(row: SimilarCaseEmbeddingRow, into = ecg, reportInto = report): void {
    known.set(row.case_key, row.change_seq);
    newest = Math.max(newest, row.indexed_at.getTime());
    const key = BigInt(row.case_key);
    if (row.ecg_embedding.length === dimensions) into.upsert(key, Float32Array.from(row.ecg_embedding));
    if (row.report_embedding?.length === dimensions) reportInto.upsert(key, Float32Array.from(row.report_embedding));
    else reportInto.remove(key);
  }

  async function refresh(): Promise<number> {
    lastRefresh = Date.now();
    // Keys and versions first; embeddings only of rows not yet in the graphs at that version.
    const changed = await run<{ case_key: string; change_seq: string }>(
      pool,
      changedSimilarCasesSql(model, new Date(newest - COMMIT_SKEW_MS)),
    );
    const stale = changed.filter((row) => known.get(row.case_key) !== row.change_seq).map((row) => row.case_key);
    if (stale.length === 0) return 0;
    const rows = await run<SimilarCaseEmbeddingRow>(pool, similarCaseEmbeddingsByKeySql(stale));
    for (const row of rows) apply(row);
    return rows.length;
  }

  const fresh = async (): Promise<void> => {
    if (Date.now() - lastRefresh >= refreshIntervalMs) await refresh();
  };

  const exclusion = async (patientRef?: string): Promise<Set<bigint>> => {
    const key = await keyOf(patientRef);
    return new Set(key === undefined ? [] : [key]);
  };

  return {
    async rebuild() {
      const nextEcg = createVectorIndex({ ...options });
      const nextReport = createVectorIndex({ ...options });
      known.clear();
      newest = 0;
      const rows = await run<SimilarCaseEmbeddingRow>(pool, similarCaseEmbeddingsOfModelSql(model));
      for (const row of rows) apply(row, nextEcg, nextReport);
      ecg = nextEcg;
      report = nextReport;
      lastRefresh = Date.now();
      return rows.length;
    },
    refresh,
    async upsert(entry) {
      const [row] = await run<SimilarCaseEmbeddingRow>(
        pool,
        upsertSimilarCaseSql({
          patientRef: entry.patientRef,
          ecgRef: entry.ecgRef,
          ...(entry.reportRef !== undefined ? { reportRef: entry.reportRef } : {}),
          ...(entry.ecgRecorded !== undefined ? { ecgRecorded: entry.ecgRecorded } : {}),
          model,
          ecgEmbedding: vector(entry.ecgEmbedding),
          ...(entry.reportEmbedding ? { reportEmbedding: vector(entry.reportEmbedding) } : {}),
        }),
      );
      apply(row!);
    },
    async ecgEmbeddingOf(patientRef) {
      const [row] = await run<{ ecg_embedding: number[] }>(pool, ecgEmbeddingOfPatientSql(patientRef, model));
      return row ? Float32Array.from(row.ecg_embedding) : undefined;
    },
    async nearestByEcg(query, k, excludePatientRef) {
      await fresh();
      return hydrate(ecg.search(query, k, await exclusion(excludePatientRef)));
    },
    async nearestEcgToText(textEmbedding, k) {
      await fresh();
      return hydrate(ecg.search(textEmbedding, k));
    },
    async nearestByReport(query, k, excludePatientRef) {
      await fresh();
      return hydrate(report.search(query, k, await exclusion(excludePatientRef)));
    },
    size: () => ecg.size(),
  };
}
