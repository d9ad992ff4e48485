import type { Queryable } from './sql.js';

/** The keys of one pending DIMSE instance; the rest of its attributes are the door's business. */
export interface PendingInstanceKeys {
  studyInstanceUid: string;
  sopInstanceUid: string;
}

/** A study inside its quiet period, as stored. */
export interface PendingStudy<T> {
  instances: T[];
  /** Milliseconds since its latest instance was recorded (database clock). */
  quietForMs: number;
  /** The latest `received_at`, as Postgres text: what {@link deletePendingInstances} may remove. */
  receivedUpTo: string;
}

/**
 * Records a stored instance of a study in its quiet period; a resent instance (same SOP Instance
 * UID) replaces the attributes and restarts the study's quiet period. `clock_timestamp()`, not
 * `now()`: the quiet period is measured in wall time even inside a long transaction.
 */
export async function upsertPendingInstance<T extends PendingInstanceKeys>(
  db: Queryable,
  instance: T,
): Promise<void> {
  await db.query(
    `INSERT INTO dimse_pending_instances (study_instance_uid, sop_instance_uid, attributes)
     VALUES ($1, $2, $3)
     ON CONFLICT (study_instance_uid, sop_instance_uid)
     DO UPDATE SET attributes = EXCLUDED.attributes, received_at = clock_timestamp()`,
    [instance.studyInstanceUid, instance.sopInstanceUid, JSON.stringify(instance)],
  );
}

/** The pending instances of one study, or undefined when it has none (handed over already). */
export async function pendingStudyInstances<T>(
  db: Queryable,
  studyInstanceUid: string,
): Promise<PendingStudy<T> | undefined> {
  const { rows } = await db.query<{ attributes: T; quiet_for_ms: number; received_up_to: string }>(
    `SELECT attributes,
            (extract(epoch FROM clock_timestamp() - max(received_at) OVER ()) * 1000)::float8 AS quiet_for_ms,
            (max(received_at) OVER ())::text AS received_up_to
       FROM dimse_pending_instances
      WHERE study_instance_uid = $1
      ORDER BY sop_instance_uid`,
    [studyInstanceUid],
  );
  const first = rows[0];
  if (!first) return undefined;
  return {
    instances: rows.map((r) => r.attributes),
    quietForMs: first.quiet_for_ms,
    receivedUpTo: first.received_up_to,
  };
}

/** Every study with pending instances and how long it has been quiet (for start-up). */
export async function pendingStudies(
  db: Queryable,
): Promise<Array<{ studyInstanceUid: string; quietForMs: number }>> {
  const { rows } = await db.query<{ study_instance_uid: string; quiet_for_ms: number }>(
    `SELECT study_instance_uid,
            (extract(epoch FROM clock_timestamp() - max(received_at)) * 1000)::float8 AS quiet_for_ms
       FROM dimse_pending_instances
      GROUP BY study_instance_uid`,
  );
  return rows.map((r) => ({ studyInstanceUid: r.study_instance_uid, quietForMs: r.quiet_for_ms }));
}

/**
 * Removes the handed-over instances of a study: only those named and not received again after
 * `receivedUpTo` (a resend during the hand-over waits for the next one). Returns how many went.
 */
export async function deletePendingInstances(
  db: Queryable,
  studyInstanceUid: string,
  sopInstanceUids: readonly string[],
  receivedUpTo: string,
): Promise<number> {
  const result = await db.query(
    `DELETE FROM dimse_pending_instances
      WHERE study_instance_uid = $1 AND sop_instance_uid = ANY($2::text[]) AND received_at <= $3::timestamptz`,
    [studyInstanceUid, sopInstanceUids, receivedUpTo],
  );
  return result.rowCount ?? 0;
}
