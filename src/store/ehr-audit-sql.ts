import type { Sql } from './sql.js';

/** One `ehr_audit` row as inserted (columns of migration `ehr_audit`; `recorded` defaults to now). */
export interface EhrAuditRow {
  agent: string;
  action: string;
  method: string;
  target: string;
  server: string;
  patientRef: string | null;
  purpose: string;
  reason: string;
  status: number | null;
  outcome: number;
  durationMs: number;
}

/** Inserts one audit row (#22: all SQL in store/). */
export function insertEhrAuditSql(row: EhrAuditRow): Sql {
  return {
    text: `INSERT INTO ehr_audit (agent, action, method, target, server, patient_ref, purpose, reason, status, outcome, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    values: [
      row.agent,
      row.action,
      row.method,
      row.target,
      row.server,
      row.patientRef,
      row.purpose,
      row.reason,
      row.status,
      row.outcome,
      Math.round(row.durationMs),
    ],
  };
}

/** Deletes audit rows older than `retentionDays`. */
export function pruneEhrAuditSql(retentionDays: number): Sql {
  return { text: `DELETE FROM ehr_audit WHERE recorded < now() - make_interval(days => $1)`, values: [retentionDays] };
}
