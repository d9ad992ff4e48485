import type { Pool } from 'pg';
import type { AssessmentQueue } from '../jobs/assessment-queue.js';
import { insertInboxEvent, markInbox } from '../store/inbox-repository.js';
import type { IntakeEvent } from './intake-event.js';

/** What happened to each event of a notification. */
export interface StoreResult {
  stored: number;
  duplicates: number;
  enqueued: number;
}

/**
 * Commits the events to the inbox and enqueues a per-patient job in ONE transaction, before the
 * caller answers 2xx: a crash before commit means the EHR gets no 2xx and redelivers; after commit
 * the job exists. A redelivered event (same dedupe key) stores nothing and enqueues nothing.
 */
export async function storeNotification(
  pool: Pool,
  queue: AssessmentQueue,
  subscription: string,
  events: IntakeEvent[],
  traceId: string,
): Promise<StoreResult> {
  const client = await pool.connect();
  const result: StoreResult = { stored: 0, duplicates: 0, enqueued: 0 };
  try {
    await client.query('BEGIN');
    const patients = new Set<string>();
    const storedIds: string[] = [];
    for (const event of events) {
      const id = await insertInboxEvent(client, subscription, event, traceId);
      if (id === undefined) {
        result.duplicates++;
        continue;
      }
      result.stored++;
      if (event.patientId) {
        patients.add(event.patientId);
        storedIds.push(id);
      }
    }
    for (const patientId of patients) {
      if (await queue.enqueue(client, { patientId, traceId })) result.enqueued++;
    }
    await markInbox(client, storedIds, 'queued');
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
