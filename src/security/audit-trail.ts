import type { Logger } from '../observability/create-logger.js';
import type { FetchLike } from '../contracts/fetch-like.js';
import { insertEhrAuditSql, pruneEhrAuditSql } from '../store/ehr-audit-sql.js';
import type { Queryable } from '../store/sql.js';

/** FHIR R4 AuditEvent.action codes (http://hl7.org/fhir/R4/valueset-audit-event-action.html). */
export type AuditAction = 'C' | 'R' | 'U' | 'D' | 'E';

/** One audited call to the EHR or the PACS. */
export interface AuditEntry {
  agent: string;
  action: AuditAction;
  method: string;
  /** Path and query of the URL called (no scheme, host or credentials). */
  target: string;
  /** `host[:port]` of the server called. */
  server: string;
  patientRef: string | undefined;
  /** HL7 v3 PurposeOfUse code (`TREAT`, `HOPERAT`). */
  purpose: 'TREAT' | 'HOPERAT';
  /** Why the call was made, in words. */
  reason: string;
  /** HTTP status, or undefined when no response came (timeout, refused connection). */
  status: number | undefined;
  /** AuditEvent.outcome: 0 success, 4 minor failure (4xx), 8 serious failure (5xx, no answer). */
  outcome: 0 | 4 | 8;
  durationMs: number;
}

const PATIENT_IN_PATH = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:[/?#]|$)/;
const PATIENT_IN_QUERY = /^(?:subject|patient|_id)$/;

/** The patient a FHIR URL is about (`Patient/x` in the path, or `subject=`/`patient=` in the query). */
export function patientOf(url: URL): string | undefined {
  const inPath = PATIENT_IN_PATH.exec(url.pathname);
  if (inPath?.[1]) return `Patient/${inPath[1]}`;
  for (const [key, value] of url.searchParams) {
    const bare = key.split(':')[0] ?? key;
    if (!PATIENT_IN_QUERY.test(bare)) continue;
    if (bare === '_id' && !/\/Patient\/?$/.test(url.pathname)) continue;
    const id = value.startsWith('Patient/') ? value.slice('Patient/'.length) : value;
    if (/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return `Patient/${id}`;
  }
  return undefined;
}

/**
 * Classifies a call the way FHIR R4 §6.4 AuditEvent expects: read is R, search and transaction
 * Bundles are E (execute), create C, update U, delete D; subscription plumbing and capability
 * checks are healthcare operations (HOPERAT), everything touching a patient's record is TREAT.
 */
export function classifyCall(method: string, url: URL): Pick<AuditEntry, 'action' | 'purpose' | 'reason'> {
  const verb = method.toUpperCase();
  const path = url.pathname;
  if (/\/(Subscription|SubscriptionTopic)(\/|$)/.test(path) || /\/metadata$/.test(path)) {
    const action: AuditAction = verb === 'GET' ? (url.search ? 'E' : 'R') : verb === 'DELETE' ? 'D' : verb === 'PUT' ? 'U' : 'C';
    return { action, purpose: 'HOPERAT', reason: /\/metadata$/.test(path) ? 'EHR capability check' : 'subscription management' };
  }
  if (/\/studies(\/|$)/.test(path)) return { action: 'R', purpose: 'TREAT', reason: 'retrieve imaging for risk assessment' };
  if (verb === 'GET' || verb === 'HEAD') {
    const search = url.search.length > 0 || /\/_search$/.test(path);
    return { action: search ? 'E' : 'R', purpose: 'TREAT', reason: 'assemble patient record for risk assessment' };
  }
  if (verb === 'POST') {
    // A POST to the base URL is a batch/transaction Bundle (FHIR R4 §3.1.0.11).
    const segments = path.split('/').filter(Boolean);
    const last = segments[segments.length - 1] ?? '';
    const toBase = !/^[A-Z][A-Za-z]+$/.test(last);
    return { action: toBase ? 'E' : 'C', purpose: 'TREAT', reason: 'write back risk assessment' };
  }
  if (verb === 'DELETE') return { action: 'D', purpose: 'TREAT', reason: 'remove superseded result' };
  return { action: 'U', purpose: 'TREAT', reason: 'write back risk assessment' };
}

/** Inserts one audit row. */
export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  const sql = insertEhrAuditSql({ ...entry, patientRef: entry.patientRef ?? null, status: entry.status ?? null });
  await db.query(sql.text, sql.values);
}

/**
 * Wraps the base `fetch` so every call that leaves the process is recorded in `ehr_audit` before
 * its response is handed back. Fails closed: a call whose audit row cannot be written fails too,
 * so no EHR access goes unrecorded (HIPAA §164.312(b) audit controls).
 */
export function createAuditedFetch(options: { db: Queryable; agent: string; fetch?: FetchLike; now?: () => number }): FetchLike {
  const base = options.fetch ?? fetch;
  const now = options.now ?? (() => performance.now());
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input.toString());
    const method = (init?.method ?? 'GET').toUpperCase();
    const started = now();
    const entry = {
      agent: options.agent,
      method,
      target: `${url.pathname}${url.search}`,
      server: url.host,
      patientRef: patientOf(url),
      ...classifyCall(method, url),
    };
    let response: Response;
    try {
      response = await base(input, init);
    } catch (error) {
      await recordAudit(options.db, { ...entry, status: undefined, outcome: 8, durationMs: now() - started });
      throw error;
    }
    const outcome = response.status < 400 ? 0 : response.status < 500 ? 4 : 8;
    await recordAudit(options.db, { ...entry, status: response.status, outcome, durationMs: now() - started });
    return response;
  };
}

/** Deletes audit rows older than `retentionDays`; returns how many went. */
export async function pruneAuditTrail(db: Queryable, retentionDays: number): Promise<number> {
  const sql = pruneEhrAuditSql(retentionDays);
  const result = await db.query(sql.text, sql.values);
  return result.rowCount ?? 0;
}

/** Prunes once now and then every `intervalMs`; returns a stop function for shutdown. */
export function startAuditRetention(options: {
  db: Queryable;
  retentionDays: number;
  logger: Logger;
  intervalMs?: number;
}): () => Promise<void> {
  const prune = (): void => {
    pruneAuditTrail(options.db, options.retentionDays)
      .then((removed) => {
        if (removed > 0) options.logger.info({ removed }, 'audit trail pruned');
      })
      .catch((err: unknown) => options.logger.warn({ err: { message: (err as Error).message } }, 'audit trail prune failed'));
  };
  prune();
  const timer = setInterval(prune, options.intervalMs ?? 3_600_000);
  timer.unref();
  return async () => clearInterval(timer);
}
