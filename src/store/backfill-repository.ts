import type { Pool, PoolClient } from 'pg';
import type { Resource } from '@medplum/fhirtypes';
import type { ExportManifest } from '../contracts/bulk-export.js';
import { withTransaction } from './transaction.js';

/** A backfill run as stored (migration 0006). */
export interface BackfillRun {
  id: string;
  kickoffUrl: string;
  statusUrl?: string;
  transactionTime?: Date;
  manifest?: ExportManifest;
  state: 'exporting' | 'loading' | 'scoring' | 'done';
}

/** Patient counts of a run by state. */
export type PatientCounts = Record<'pending' | 'scored' | 'skipped' | 'failed', number>;

/** The newest unfinished run for this kick-off URL (to resume), or undefined. */
export async function findUnfinishedRun(pool: Pool, kickoffUrl: string): Promise<BackfillRun | undefined> {
  const { rows } = await pool.query<{
    id: string;
    kickoff_url: string;
    status_url: string | null;
    transaction_time: Date | null;
    manifest: ExportManifest | null;
    state: BackfillRun['state'];
  }>(
    `SELECT id, kickoff_url, status_url, transaction_time, manifest, state FROM backfill_runs
      WHERE kickoff_url = $1 AND state <> 'done' ORDER BY created_at DESC LIMIT 1`,
    [kickoffUrl],
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: r.id,
    kickoffUrl: r.kickoff_url,
    statusUrl: r.status_url ?? undefined,
    transactionTime: r.transaction_time ?? undefined,
    manifest: r.manifest ?? undefined,
    state: r.state,
  };
}

/** Creates a run in state `exporting`. */
export async function createRun(pool: Pool, id: string, kickoffUrl: string): Promise<BackfillRun> {
  await pool.query('INSERT INTO backfill_runs (id, kickoff_url) VALUES ($1, $2)', [id, kickoffUrl]);
  return { id, kickoffUrl, state: 'exporting' };
}

/** Records the status URL right after kick-off (a restart polls it instead of exporting again). */
export async function saveStatusUrl(pool: Pool, runId: string, statusUrl: string | null): Promise<void> {
  await pool.query('UPDATE backfill_runs SET status_url = $2 WHERE id = $1', [runId, statusUrl]);
}

/** Records the completion manifest and its files; the run moves to `loading`. */
export async function saveManifest(pool: Pool, runId: string, manifest: ExportManifest): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(
      "UPDATE backfill_runs SET manifest = $2, transaction_time = $3, state = 'loading' WHERE id = $1",
      [runId, JSON.stringify(manifest), manifest.transactionTime],
    );
    for (const [i, f] of manifest.output.entries()) {
      await client.query(
        'INSERT INTO backfill_files (run_id, file_index, resource_type, url) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [runId, i, f.type, f.url],
      );
    }
  });
}

/** Files not yet loaded, in manifest order. */
export async function unloadedFiles(pool: Pool, runId: string): Promise<Array<{ index: number; type: string; url: string }>> {
  const { rows } = await pool.query<{ file_index: number; resource_type: string; url: string }>(
    'SELECT file_index, resource_type, url FROM backfill_files WHERE run_id = $1 AND NOT loaded ORDER BY file_index',
    [runId],
  );
  return rows.map((r) => ({ index: r.file_index, type: r.resource_type, url: r.url }));
}

/** Sets a run's state. */
export async function setRunState(pool: Pool, runId: string, state: BackfillRun['state']): Promise<void> {
  await pool.query(
    `UPDATE backfill_runs SET state = $2, finished_at = CASE WHEN $2 = 'done' THEN now() ELSE NULL END WHERE id = $1`,
    [runId, state],
  );
}

/** Rows of one NDJSON file being loaded, inside one transaction (all or nothing per file). */
export interface FileLoader {
  add(patientId: string, resource: Resource): Promise<void>;
  /** Flushes, marks the file loaded and commits. */
  commit(): Promise<number>;
  rollback(): Promise<void>;
}

/**
 * Opens a per-file transaction: resources are inserted in multi-row batches; Patient resources
 * also create the patient's `pending` row. Killed mid-file, nothing of the file is kept, so the
 * restart loads it whole again (no duplicate rows, no lost ones).
 */
export async function openFileLoader(pool: Pool, runId: string, fileIndex: number, batchSize = 500): Promise<FileLoader> {
  const client: PoolClient = await pool.connect();
  await client.query('BEGIN');
  let patients: string[] = [];
  let types: string[] = [];
  let bodies: string[] = [];
  let lines = 0;
  const flush = async (): Promise<void> => {
    if (bodies.length === 0) return;
    await client.query(
      `INSERT INTO backfill_resources (run_id, file_index, patient_id, resource_type, resource)
       SELECT $1, $2, p, t, r::jsonb FROM unnest($3::text[], $4::text[], $5::text[]) AS u(p, t, r)`,
      [runId, fileIndex, patients, types, bodies],
    );
    const newPatients = patients.filter((_, i) => types[i] === 'Patient');
    if (newPatients.length > 0) {
      await client.query(
        `INSERT INTO backfill_patients (run_id, patient_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
        [runId, newPatients],
      );
    }
    patients = [];
    types = [];
    bodies = [];
  };
  return {
    async add(patientId, resource) {
      patients.push(patientId);
      types.push(resource.resourceType);
      bodies.push(JSON.stringify(resource));
      lines++;
      if (bodies.length >= batchSize) await flush();
    },
    async commit() {
      try {
        await flush();
        await client.query('UPDATE backfill_files SET loaded = true, lines = $3 WHERE run_id = $1 AND file_index = $2', [
          runId,
          fileIndex,
          lines,
        ]);
        await client.query('COMMIT');
        return lines;
      } finally {
        client.release();
      }
    },
    async rollback() {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    },
  };
}

/** The next `limit` pending patients, in id order. */
export async function pendingPatients(pool: Pool, runId: string, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ patient_id: string }>(
    "SELECT patient_id FROM backfill_patients WHERE run_id = $1 AND state = 'pending' ORDER BY patient_id LIMIT $2",
    [runId, limit],
  );
  return rows.map((r) => r.patient_id);
}

/** Every stored resource of these patients, plus the run's patient-less ones (Endpoints). */
export async function resourcesOf(pool: Pool, runId: string, patientIds: string[]): Promise<Array<{ patientId: string; resource: Resource }>> {
  const { rows } = await pool.query<{ patient_id: string; resource: Resource }>(
    "SELECT patient_id, resource FROM backfill_resources WHERE run_id = $1 AND (patient_id = ANY($2::text[]) OR patient_id = '')",
    [runId, patientIds],
  );
  return rows.map((r) => ({ patientId: r.patient_id, resource: r.resource }));
}

/** Records a patient's outcome the moment it is known (the resume checkpoint). */
export async function finishPatient(
  pool: Pool,
  runId: string,
  patientId: string,
  state: 'scored' | 'skipped' | 'failed',
  written: number,
  reason?: string,
): Promise<void> {
  await pool.query(
    'UPDATE backfill_patients SET state = $3, written = $4, reason = $5, updated_at = now() WHERE run_id = $1 AND patient_id = $2',
    [runId, patientId, state, written, reason ?? null],
  );
}

/** Patient counts by state. */
export async function patientCounts(pool: Pool, runId: string): Promise<PatientCounts> {
  const { rows } = await pool.query<{ state: keyof PatientCounts; n: number }>(
    'SELECT state, count(*)::int AS n FROM backfill_patients WHERE run_id = $1 GROUP BY state',
    [runId],
  );
  const counts: PatientCounts = { pending: 0, scored: 0, skipped: 0, failed: 0 };
  for (const r of rows) counts[r.state] = r.n;
  return counts;
}

/** Skip/failure reasons with how many patients each. */
export async function reasonCounts(pool: Pool, runId: string): Promise<Array<{ state: string; reason: string; patients: number }>> {
  const { rows } = await pool.query<{ state: string; reason: string; patients: number }>(
    `SELECT state, reason, count(*)::int AS patients FROM backfill_patients
      WHERE run_id = $1 AND state IN ('skipped', 'failed') GROUP BY state, reason ORDER BY patients DESC`,
    [runId],
  );
  return rows;
}

/**
 * Puts the run's failed patients back to pending: running the backfill again retries them
 * (failures are transient more often than not: an EHR timeout, a restart), so none is skipped.
 */
export async function retryFailedPatients(pool: Pool, runId: string): Promise<number> {
  const { rowCount } = await pool.query(
    "UPDATE backfill_patients SET state = 'pending', reason = NULL, updated_at = now() WHERE run_id = $1 AND state = 'failed'",
    [runId],
  );
  return rowCount ?? 0;
}
