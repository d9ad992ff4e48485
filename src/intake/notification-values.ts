import { outcome } from '../fhir/operation-outcome.js';
import type { Err } from '../contracts/result.js';
import type { IntakeParseResult, IntakeRejection } from './parse-rest-hook.js';

/**
 * Notification types, the same codes in the Backport IG (`backport-notification-type`), R4B and
 * R5 (`subscription-notification-type`, R5 §SubscriptionStatus.type).
 */
export const NOTIFICATION_TYPES = [
  'handshake',
  'heartbeat',
  'event-notification',
  'query-status',
  'query-event',
] as const;

/** One notification type. */
export type BackportNotificationType = (typeof NOTIFICATION_TYPES)[number];

/**
 * Which encoding a topic-based notification used — the three differ only in shape (see
 * docs/topic-subscriptions.md):
 * - `R4`: Backport IG on R4 — `history` Bundle, status as a `backport-subscription-status-r4`
 *   Parameters (IG §Notifications);
 * - `R4B`: Backport IG on R4B and the R4B core examples — `history` Bundle, status as an R4B
 *   `SubscriptionStatus` resource (counts are `string`s: R4B has no integer64);
 * - `R5`: R5 core — `subscription-notification` Bundle (R5 §Bundle.type), status as an R5
 *   `SubscriptionStatus` (counts are integer64, strings in JSON: R5 §json.html#primitive).
 */
export type NotificationRelease = 'R4' | 'R4B' | 'R5';

/** A reference split into its parts (absolute or relative, optionally versioned). */
export interface ParsedReference {
  reference: string;
  resourceType?: string;
  id?: string;
  versionId?: string;
}

/** One event: R4 `notification-event` part, R4B/R5 `SubscriptionStatus.notificationEvent`. */
export interface BackportEvent {
  eventNumber: number;
  timestamp?: string;
  /** Absent with `empty` content. */
  focus?: ParsedReference;
  additionalContext: ParsedReference[];
}

/** A parsed SubscriptionStatus (the first entry of a notification Bundle), of any release. */
export interface BackportStatus {
  /** The encoding the status came in. */
  release: NotificationRelease;
  subscription: ParsedReference;
  topic?: string;
  status: string;
  type: BackportNotificationType;
  /** `events-since-subscription-start` / `eventsSinceSubscriptionStart`; absent if not sent. */
  eventsSinceSubscriptionStart?: number;
  events: BackportEvent[];
  /** `error` codings, as `system|code`. */
  errors: string[];
  /** Element path of the subscription reference, for errors about it. */
  subscriptionPath: string;
}

/** A JSON object. */
export type Json = Record<string, unknown>;

/** Whether `value` is a JSON object (not an array, not null). */
export const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const REFERENCE_PATTERN =
  /(?:^|\/)([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** Splits `[base/]Type/id[/_history/v]` (FHIR R4 §2.3.0 References); undefined if it is none. */
export function parseReference(reference: unknown): ParsedReference | undefined {
  if (typeof reference !== 'string' || reference.length === 0 || reference.length > 2048) return undefined;
  const match = REFERENCE_PATTERN.exec(reference);
  if (!match) return { reference };
  return { reference, resourceType: match[1], id: match[2], ...(match[3] ? { versionId: match[3] } : {}) };
}

/** A rejected notification: 422 with the element path. */
export const fail = (
  text: string,
  expression: string,
  code: 'structure' | 'required' | 'invalid' | 'value' = 'invalid',
): Err<IntakeRejection> => ({ ok: false, status: 422, outcome: outcome(code, text, expression) });

/**
 * An event count or number. R4 (Backport IG) and R4B carry it as a `string`; R5's integer64 is a
 * JSON string too (R5 §2.1.28.0.1 json.html, "integer64 … represented as a JSON string"). A JSON
 * number is accepted as well: servers that serialise integer64 as a number exist, and its value is
 * unambiguous below 2^53 (the 15-digit bound keeps it there).
 */
export function parseCount(value: unknown, expression: string): IntakeParseResult<number> {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text))
    return fail('must be a non-negative integer', expression, 'value');
  return { ok: true, value: Number(text) };
}

/** A notification type code. */
export function parseType(value: unknown, expression: string): IntakeParseResult<BackportNotificationType> {
  if (typeof value !== 'string' || !(NOTIFICATION_TYPES as readonly string[]).includes(value)) {
    return fail(`notification type must be one of ${NOTIFICATION_TYPES.join(', ')}`, expression, 'value');
  }
  return { ok: true, value: value as BackportNotificationType };
}

/** The codings of a CodeableConcept as `system|code`. */
export function codings(concept: unknown): string[] {
  if (!isObject(concept) || !Array.isArray(concept.coding)) return [];
  return concept.coding
    .filter(isObject)
    .map(
      (c) => `${typeof c.system === 'string' ? c.system : ''}|${typeof c.code === 'string' ? c.code : ''}`,
    );
}
