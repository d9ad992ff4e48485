import { createHash, randomBytes } from 'node:crypto';
import type { Queryable, Sql } from './sql.js';

/** A random, URL-safe opaque value (256 bits): session ids, `state`, CSRF tokens. */
export function opaqueValue(): string {
  return randomBytes(32).toString('base64url');
}

/** Only hashes of bearer-like values are stored, so a database read does not yield a live cookie. */
export function hashOpaque(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** An authorization request in flight. */
export interface PendingLaunch {
  iss: string;
  tokenEndpoint: string;
  codeVerifier: string;
  /** Hash of the browser-binding cookie set at launch (the `state` must come back to the same browser). */
  browserHash: string;
}

/** A signed-in review session. */
export interface ReviewSession {
  iss: string;
  accessToken: string;
  scope: string;
  patientId: string;
  fhirUser: string | undefined;
  csrfToken: string;
  expiresAt: Date;
}

/** Builds the insert of a pending launch. */
export function insertLaunchSql(state: string, launch: PendingLaunch, ttlSeconds: number): Sql {
  return {
    text: `INSERT INTO review_launch (state_hash, browser_hash, iss, token_endpoint, code_verifier, expires_at)
           VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    values: [hashOpaque(state), launch.browserHash, launch.iss, launch.tokenEndpoint, launch.codeVerifier, ttlSeconds],
  };
}

/**
 * Builds the one-time take of a pending launch (deleted as it is read: a `state` is good once).
 * Columns come back named as {@link PendingLaunch}'s fields, so a row is the launch itself.
 */
export function takeLaunchSql(state: string): Sql {
  return {
    text: `DELETE FROM review_launch WHERE state_hash = $1 AND expires_at > now()
           RETURNING browser_hash AS "browserHash", iss, token_endpoint AS "tokenEndpoint", code_verifier AS "codeVerifier"`,
    values: [hashOpaque(state)],
  };
}

/** Builds the insert of a session. */
export function insertSessionSql(sessionId: string, session: ReviewSession): Sql {
  return {
    text: `INSERT INTO review_session (session_hash, iss, access_token, scope, patient_id, fhir_user, csrf_token, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    values: [
      hashOpaque(sessionId),
      session.iss,
      session.accessToken,
      session.scope,
      session.patientId,
      session.fhirUser ?? null,
      session.csrfToken,
      session.expiresAt,
    ],
  };
}

/**
 * Builds the read of a session by its cookie value (expired ones too: the caller says why it
 * refuses). Columns come back named as {@link ReviewSession}'s fields.
 */
export function selectSessionSql(sessionId: string): Sql {
  return {
    text: `SELECT iss, access_token AS "accessToken", scope, patient_id AS "patientId", fhir_user AS "fhirUser",
                  csrf_token AS "csrfToken", expires_at AS "expiresAt"
           FROM review_session WHERE session_hash = $1`,
    values: [hashOpaque(sessionId)],
  };
}

/** Builds the clean-up of expired launches and sessions. */
export function purgeExpiredSql(): Sql {
  return {
    text: `WITH l AS (DELETE FROM review_launch WHERE expires_at < now() - interval '1 hour')
           DELETE FROM review_session WHERE expires_at < now() - interval '1 day'`,
    values: [],
  };
}

/** Postgres-backed launch and session storage for the review app. */
export interface ReviewStore {
  saveLaunch(state: string, launch: PendingLaunch, ttlSeconds: number): Promise<void>;
  /** The launch for this `state`, removed so it cannot be replayed; `undefined` when unknown or expired. */
  takeLaunch(state: string): Promise<PendingLaunch | undefined>;
  saveSession(sessionId: string, session: ReviewSession): Promise<void>;
  findSession(sessionId: string): Promise<ReviewSession | undefined>;
  purgeExpired(): Promise<void>;
}

/** Creates the store over a pool (or any {@link Queryable}). */
export function createReviewStore(db: Queryable): ReviewStore {
  return {
    async saveLaunch(state, launch, ttlSeconds) {
      const sql = insertLaunchSql(state, launch, ttlSeconds);
      await db.query(sql.text, sql.values);
    },
    async takeLaunch(state) {
      const sql = takeLaunchSql(state);
      const { rows } = await db.query<PendingLaunch & Record<string, unknown>>(sql.text, sql.values);
      return rows[0];
    },
    async saveSession(sessionId, session) {
      const sql = insertSessionSql(sessionId, session);
      await db.query(sql.text, sql.values);
    },
    async findSession(sessionId) {
      const sql = selectSessionSql(sessionId);
      const { rows } = await db.query<Omit<ReviewSession, 'fhirUser'> & { fhirUser: string | null }>(
        sql.text,
        sql.values,
      );
      const row = rows[0];
      return row && { ...row, fhirUser: row.fhirUser ?? undefined, expiresAt: new Date(row.expiresAt) };
    },
    async purgeExpired() {
      const sql = purgeExpiredSql();
      await db.query(sql.text, sql.values);
    },
  };
}
