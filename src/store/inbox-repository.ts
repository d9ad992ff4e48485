import type { IntakeEvent } from '../contracts/intake-event.js';
import type { Queryable, Sql } from './sql.js';
import { run } from './sql.js';

/** SQL: store one event; a duplicate dedupe key inserts nothing and returns no row. */
export function insertInboxSql(subscription: string, event: IntakeEvent, traceId: string): Sql {
  return {
    text: `INSERT INTO notification_inbox
             (dialect, subscription, dedupe_key, resource_type, resource_id, version_id, patient_id, event_number, payload, trace_id,
              status, error, processed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $11 = 'ignored' THEN now() END)
           ON CONFLICT (dedupe_key) DO NOTHING
           RETURNING id`,
    values: [
      event.dialect,
      subscription,
      event.dedupeKey,
      event.resourceType ?? null,
      event.resourceId ?? null,
      event.versionId ?? null,
      event.patientId ?? null,
      event.eventNumber ?? null,
      event.payload === undefined ? null : JSON.stringify(event.payload),
      traceId,
      event.ignoredReason === undefined ? 'received' : 'ignored',
      event.ignoredReason === undefined ? null : JSON.stringify({ reason: event.ignoredReason }),
    ],
  };
}

/** An inbox row whose patient is not known yet (ping, empty or id-only content). */
export interface UnresolvedInboxRow extends Record<string, unknown> {
  id: string;
  dialect: string;
  resource_type: string | null;
  resource_id: string | null;
  trace_id: string;
}

/** Unresolved rows of a subscription, oldest first. */
export async function unresolvedForSubscription(db: Queryable, subscription: string, limit = 500): Promise<UnresolvedInboxRow[]> {
  return run<UnresolvedInboxRow>(db, {
    text: `SELECT id, dialect, resource_type, resource_id, trace_id FROM notification_inbox
           WHERE subscription = $1 AND status = 'received' AND patient_id IS NULL ORDER BY id LIMIT $2`,
    values: [subscription, limit],
  });
}

/** Sets the patient (and version) of a resolved row. */
export async function resolveInboxRow(db: Queryable, id: string, patientId: string, versionId?: string): Promise<void> {
  await db.query('UPDATE notification_inbox SET patient_id = $2, version_id = COALESCE(version_id, $3) WHERE id = $1', [
    id,
    patientId,
    versionId ?? null,
  ]);
}

/**
 * Whether the inbox already holds a newer version of the resource (numeric versionIds, as most
 * servers assign): a full-resource delivery of an older version is stale and not assessed.
 */
export async function hasNewerVersion(db: Queryable, resourceType: string, resourceId: string, versionId: string): Promise<boolean> {
  if (!/^\d{1,15}$/.test(versionId)) return false;
  const rows = await run<{ one: number }>(db, {
    text: `SELECT 1 AS one FROM notification_inbox WHERE resource_type = $1 AND resource_id = $2
             AND version_id ~ '^[0-9]{1,15}$' AND version_id::bigint > $3::bigint LIMIT 1`,
    values: [resourceType, resourceId, versionId],
  });
  return rows.length > 0;
}

/** Inserts an event; returns the new row id, or undefined when it was a redelivery. */
export async function insertInboxEvent(
  db: Queryable,
  subscription: string,
  event: IntakeEvent,
  traceId: string,
): Promise<string | undefined> {
  const rows = await run<{ id: string }>(db, insertInboxSql(subscription, event, traceId));
  return rows[0]?.id;
}

/** A pending inbox row as the assessment job sees it (no payload: the job re-reads the EHR). */
export interface PendingInboxRow extends Record<string, unknown> {
  id: string;
  resource_type: string | null;
  resource_id: string | null;
  version_id: string | null;
  trace_id: string;
}

/** Rows for a patient still waiting to be assessed, oldest first. */
export async function pendingForPatient(db: Queryable, patientId: string): Promise<PendingInboxRow[]> {
  return run<PendingInboxRow>(db, {
    text: `SELECT id, resource_type, resource_id, version_id, trace_id FROM notification_inbox
           WHERE patient_id = $1 AND status IN ('received', 'queued') ORDER BY id`,
    values: [patientId],
  });
}

/** Marks rows done (processed / ignored / failed), with an optional error outcome. */
export async function markInbox(
  db: Queryable,
  ids: string[],
  status: 'queued' | 'processed' | 'ignored' | 'failed',
  error?: unknown,
): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE notification_inbox SET status = $2, processed_at = CASE WHEN $2 = 'queued' THEN NULL ELSE now() END,
       error = $3 WHERE id = ANY($1::bigint[])`,
    [ids, status, error === undefined ? null : JSON.stringify(error)],
  );
}

/** Counts rows by status (for metrics and `fhir-fusion jobs`). */
export async function inboxCounts(db: Queryable): Promise<Record<string, number>> {
  const rows = await run<{ status: string; n: string }>(db, {
    text: 'SELECT status, count(*) AS n FROM notification_inbox GROUP BY status',
    values: [],
  });
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Whether an event with this dedupe key is already in the inbox (an HL7 v2 resend, for one). */
export async function inboxHasEvent(db: Queryable, dedupeKey: string): Promise<boolean> {
  const rows = await run<{ one: number }>(db, {
    text: 'SELECT 1 AS one FROM notification_inbox WHERE dedupe_key = $1',
    values: [dedupeKey],
  });
  return rows.length > 0;
}
