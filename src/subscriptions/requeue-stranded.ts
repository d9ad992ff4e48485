import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { AssessmentQueue } from '../jobs/assessment-queue.js';
import type { Queryable } from '../store/sql.js';
import { run } from '../store/sql.js';

/** A running job has taken its advisory lock well within this many seconds of being claimed. */
const ORPHAN_MIN_AGE_S = 5;

/** What a sweep re-enqueued. */
export interface RequeueSummary {
  patients: number;
  subscriptions: number;
  /** Active jobs of dead workers failed back to retry. */
  reclaimed: number;
}

async function strandedPatients(db: Queryable, olderThanMs: number): Promise<string[]> {
  const rows = await run<{ patient_id: string }>(db, {
    text: `SELECT DISTINCT patient_id FROM notification_inbox
           WHERE status IN ('received', 'queued') AND patient_id IS NOT NULL
             AND received_at < now() - make_interval(secs => $1::double precision / 1000)`,
    values: [olderThanMs],
  });
  return rows.map((r) => r.patient_id);
}

async function strandedSubscriptions(db: Queryable, olderThanMs: number): Promise<string[]> {
  const rows = await run<{ subscription: string }>(db, {
    text: `SELECT DISTINCT subscription FROM notification_inbox
           WHERE status = 'received' AND patient_id IS NULL
             AND received_at < now() - make_interval(secs => $1::double precision / 1000)`,
    values: [olderThanMs],
  });
  return rows.map((r) => r.subscription);
}

/**
 * The inbox is the source of truth: every row still `received`/`queued` after `olderThanMs` gets
 * its job enqueued again. A worker killed with `kill -9` leaves its claimed job `active` until
 * pg-boss expires it; this sweep (at start-up and on every watchdog pass) lets the work resume at
 * once instead; claims of dead workers are failed back to retry first. Safe to repeat: the queue keeps at most one waiting job per patient/subscription,
 * and a job that finds nothing pending does nothing.
 */
export async function requeueStranded(pool: Pool, queue: AssessmentQueue, olderThanMs: number): Promise<RequeueSummary> {
  // A dead worker's claim blocks its patient's next job (one active job per patient): release it.
  const reclaimed = await queue.reclaimOrphans(ORPHAN_MIN_AGE_S);
  const patients = await strandedPatients(pool, olderThanMs);
  const subscriptions = await strandedSubscriptions(pool, olderThanMs);
  const summary: RequeueSummary = { patients: 0, subscriptions: 0, reclaimed };
  if (patients.length === 0 && subscriptions.length === 0) return summary;
  const client = await pool.connect();
  try {
    const traceId = randomUUID();
    for (const patientId of patients) if (await queue.enqueue(client, { patientId, traceId })) summary.patients++;
    for (const subscription of subscriptions) if (await queue.enqueueResolve(client, { subscription, traceId })) summary.subscriptions++;
  } finally {
    client.release();
  }
  return summary;
}
