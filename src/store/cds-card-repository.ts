import type { Queryable } from './sql.js';
import type { FeedbackItem } from '../contracts/cds-feedback.js';

/** One issued card, as recorded for feedback (migration 0004 `cds_card`). */
export interface IssuedCard {
  uuid: string;
  serviceId: string;
  patientId: string;
  riskAssessment?: string;
  model?: string;
  indicator: string;
  hookInstance: string;
  clientIss: string;
}

/** Records the cards of one response in one statement. */
export async function recordIssuedCards(db: Queryable, cards: readonly IssuedCard[]): Promise<void> {
  if (cards.length === 0) return;
  const values: unknown[] = [];
  const rows = cards.map((c, i) => {
    values.push(c.uuid, c.serviceId, c.patientId, c.riskAssessment ?? null, c.model ?? null, c.indicator, c.hookInstance, c.clientIss);
    const base = i * 8;
    return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6}, $${base + 7}, $${base + 8})`;
  });
  await db.query(
    `INSERT INTO cds_card (uuid, service_id, patient_id, risk_assessment, model, indicator, hook_instance, client_iss) VALUES ${rows.join(', ')}`,
    values,
  );
}

/** Card uuids among `uuids` that this service did not issue. */
export async function unknownCards(db: Queryable, serviceId: string, uuids: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ uuid: string }>('SELECT uuid::text AS uuid FROM cds_card WHERE service_id = $1 AND uuid = ANY($2::uuid[])', [
    serviceId,
    [...uuids],
  ]);
  const known = new Set(rows.map((r) => r.uuid));
  return uuids.filter((u) => !known.has(u));
}

/** Stores feedback items (CDS Hooks 2.0 §Feedback) in one statement. */
export async function recordFeedback(db: Queryable, serviceId: string, clientIss: string, items: readonly FeedbackItem[]): Promise<void> {
  const values: unknown[] = [];
  const rows = items.map((f, i) => {
    const reason = f.overrideReason?.reason;
    values.push(
      f.card,
      serviceId,
      f.outcome,
      reason?.code ?? null,
      reason?.system ?? null,
      reason?.display ?? null,
      f.overrideReason?.userComment ?? null,
      JSON.stringify(f.acceptedSuggestions),
      f.outcomeTimestamp,
      clientIss,
    );
    const b = i * 10;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}::jsonb, $${b + 9}, $${b + 10})`;
  });
  await db.query(
    'INSERT INTO cds_feedback (card_uuid, service_id, outcome, override_code, override_system, override_display, user_comment, ' +
      `accepted_suggestions, outcome_timestamp, client_iss) VALUES ${rows.join(', ')}`,
    values,
  );
}
