import { outcome } from '../fhir/operation-outcome.js';
import type { Err } from '../contracts/result.js';
import type { IntakeParseResult, IntakeRejection } from './parse-rest-hook.js';

/** Notification types of the Subscriptions R5 Backport IG (`backport-notification-type`). */
export const NOTIFICATION_TYPES = ['handshake', 'heartbeat', 'event-notification', 'query-status', 'query-event'] as const;

/** One notification type. */
export type BackportNotificationType = (typeof NOTIFICATION_TYPES)[number];

/** A reference split into its parts (absolute or relative, optionally versioned). */
export interface ParsedReference {
  reference: string;
  resourceType?: string;
  id?: string;
  versionId?: string;
}

/** One `notification-event` (R4 Parameters part, R4B `SubscriptionStatus.notificationEvent`). */
export interface BackportEvent {
  eventNumber: number;
  timestamp?: string;
  /** Absent with `empty` content. */
  focus?: ParsedReference;
  additionalContext: ParsedReference[];
}

/** A resource carried in the notification Bundle after the status (full-resource content). */
export interface CarriedResource {
  resourceType: string;
  id?: string;
  versionId?: string;
  resource: Record<string, unknown>;
}

/** A parsed SubscriptionStatus (the first entry of a notification Bundle). */
export interface BackportStatus {
  subscription: ParsedReference;
  topic?: string;
  status: string;
  type: BackportNotificationType;
  /** `events-since-subscription-start` (a string in R4: no integer64); absent if not sent. */
  eventsSinceSubscriptionStart?: number;
  events: BackportEvent[];
  /** `error` codings, as `system|code`. */
  errors: string[];
}

/** A parsed notification Bundle. */
export interface BackportNotification extends BackportStatus {
  /** Resources after the status entry (focus and additional context with full-resource content). */
  resources: CarriedResource[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const REFERENCE_PATTERN = /(?:^|\/)([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

/** Splits `[base/]Type/id[/_history/v]` (FHIR R4 §2.3.0 References); undefined if it is none. */
export function parseReference(reference: unknown): ParsedReference | undefined {
  if (typeof reference !== 'string' || reference.length === 0 || reference.length > 2048) return undefined;
  const match = REFERENCE_PATTERN.exec(reference);
  if (!match) return { reference };
  return { reference, resourceType: match[1], id: match[2], ...(match[3] ? { versionId: match[3] } : {}) };
}

type Fail = Err<IntakeRejection>;

const fail = (text: string, expression: string, code: 'structure' | 'required' | 'invalid' | 'value' = 'invalid'): Fail => ({
  ok: false,
  status: 422,
  outcome: outcome(code, text, expression),
});

function parseCount(value: unknown, expression: string): IntakeParseResult<number> {
  // R4 carries integer64 values as strings (Backport IG, events-since-subscription-start).
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text)) return fail('must be a non-negative integer', expression, 'value');
  return { ok: true, value: Number(text) };
}

function parseType(value: unknown, expression: string): IntakeParseResult<BackportNotificationType> {
  if (typeof value !== 'string' || !(NOTIFICATION_TYPES as readonly string[]).includes(value)) {
    return fail(`notification type must be one of ${NOTIFICATION_TYPES.join(', ')}`, expression, 'value');
  }
  return { ok: true, value: value as BackportNotificationType };
}

function codings(concept: unknown): string[] {
  if (!isObject(concept) || !Array.isArray(concept.coding)) return [];
  return concept.coding.filter(isObject).map((c) => `${typeof c.system === 'string' ? c.system : ''}|${typeof c.code === 'string' ? c.code : ''}`);
}

/**
 * Parses the R4 SubscriptionStatus `Parameters` (Backport IG profile
 * `backport-subscription-status-r4`): parameters `subscription`, `topic`, `status`, `type`,
 * `events-since-subscription-start`, `notification-event` (parts `event-number`, `timestamp`,
 * `focus`, `additional-context`), `error`. Parameters it does not use (`related-query`,
 * `authorization-*`) are ignored. `path` is the element path of the resource, for errors.
 */
export function parseStatusParameters(resource: Json, path: string): IntakeParseResult<BackportStatus> {
  const parameters = resource.parameter;
  if (!Array.isArray(parameters)) return fail('SubscriptionStatus Parameters must have parameter[]', `${path}.parameter`, 'required');
  let subscription: ParsedReference | undefined;
  let topic: string | undefined;
  let status: string | undefined;
  let type: BackportNotificationType | undefined;
  let since: number | undefined;
  const events: BackportEvent[] = [];
  const errors: string[] = [];
  for (let i = 0; i < parameters.length; i++) {
    const p: unknown = parameters[i];
    const at = `${path}.parameter[${i}]`;
    if (!isObject(p) || typeof p.name !== 'string') return fail('each parameter must have a name', `${at}.name`, 'required');
    switch (p.name) {
      case 'subscription':
        subscription = parseReference(isObject(p.valueReference) ? p.valueReference.reference : undefined);
        if (!subscription?.id) return fail('subscription must reference a Subscription', `${at}.valueReference.reference`, 'value');
        break;
      case 'topic':
        if (typeof p.valueCanonical === 'string') topic = p.valueCanonical;
        break;
      case 'status':
        if (typeof p.valueCode !== 'string') return fail('status must be a code', `${at}.valueCode`, 'value');
        status = p.valueCode;
        break;
      case 'type': {
        const parsed = parseType(p.valueCode, `${at}.valueCode`);
        if (!parsed.ok) return parsed;
        type = parsed.value;
        break;
      }
      case 'events-since-subscription-start': {
        const parsed = parseCount(p.valueString ?? p.valueInteger ?? p.valueDecimal, `${at}.valueString`);
        if (!parsed.ok) return parsed;
        since = parsed.value;
        break;
      }
      case 'notification-event': {
        const parsed = parseEventParts(p.part, `${at}.part`);
        if (!parsed.ok) return parsed;
        events.push(parsed.value);
        break;
      }
      case 'error':
        errors.push(...codings(p.valueCodeableConcept));
        break;
      default:
        break;
    }
  }
  if (!subscription) return fail('the subscription parameter is required', `${path}.parameter`, 'required');
  if (!status) return fail('the status parameter is required', `${path}.parameter`, 'required');
  if (!type) return fail('the type parameter is required', `${path}.parameter`, 'required');
  return { ok: true, value: { subscription, topic, status, type, eventsSinceSubscriptionStart: since, events, errors } };
}

function parseEventParts(parts: unknown, path: string): IntakeParseResult<BackportEvent> {
  if (!Array.isArray(parts)) return fail('notification-event must have parts', path, 'required');
  let eventNumber: number | undefined;
  let timestamp: string | undefined;
  let focus: ParsedReference | undefined;
  const additionalContext: ParsedReference[] = [];
  for (let j = 0; j < parts.length; j++) {
    const part: unknown = parts[j];
    const at = `${path}[${j}]`;
    if (!isObject(part)) return fail('a part must be an object', at, 'structure');
    if (part.name === 'event-number') {
      const parsed = parseCount(part.valueString ?? part.valueInteger, `${at}.valueString`);
      if (!parsed.ok) return parsed;
      eventNumber = parsed.value;
    } else if (part.name === 'timestamp' && typeof part.valueInstant === 'string') {
      timestamp = part.valueInstant;
    } else if (part.name === 'focus' || part.name === 'additional-context') {
      const ref = parseReference(isObject(part.valueReference) ? part.valueReference.reference : undefined);
      if (!ref) return fail(`${String(part.name)} must be a Reference`, `${at}.valueReference.reference`, 'value');
      if (part.name === 'focus') focus = ref;
      else additionalContext.push(ref);
    }
  }
  if (eventNumber === undefined) return fail('event-number is required', path, 'required');
  return { ok: true, value: { eventNumber, timestamp, focus, additionalContext } };
}

/**
 * Parses an R4B `SubscriptionStatus` resource (FHIR R4B §SubscriptionStatus): `status`, `type`,
 * `eventsSinceSubscriptionStart`, `notificationEvent[]` (`eventNumber`, `timestamp`, `focus`,
 * `additionalContext`), `subscription`, `topic`, `error[]`.
 */
export function parseSubscriptionStatusR4B(resource: Json, path: string): IntakeParseResult<BackportStatus> {
  const subscription = parseReference(isObject(resource.subscription) ? resource.subscription.reference : undefined);
  if (!subscription?.id) return fail('subscription must reference a Subscription', `${path}.subscription.reference`, 'required');
  if (typeof resource.status !== 'string') return fail('status is required', `${path}.status`, 'required');
  const type = parseType(resource.type, `${path}.type`);
  if (!type.ok) return type;
  let since: number | undefined;
  if (resource.eventsSinceSubscriptionStart !== undefined) {
    const parsed = parseCount(resource.eventsSinceSubscriptionStart, `${path}.eventsSinceSubscriptionStart`);
    if (!parsed.ok) return parsed;
    since = parsed.value;
  }
  const events: BackportEvent[] = [];
  const list = resource.notificationEvent ?? [];
  if (!Array.isArray(list)) return fail('notificationEvent must be an array', `${path}.notificationEvent`, 'structure');
  for (let i = 0; i < list.length; i++) {
    const e: unknown = list[i];
    const at = `${path}.notificationEvent[${i}]`;
    if (!isObject(e)) return fail('notificationEvent must be an object', at, 'structure');
    const n = parseCount(e.eventNumber, `${at}.eventNumber`);
    if (!n.ok) return n;
    const focus = e.focus === undefined ? undefined : parseReference(isObject(e.focus) ? e.focus.reference : undefined);
    if (e.focus !== undefined && !focus) return fail('focus must be a Reference', `${at}.focus.reference`, 'value');
    const context = Array.isArray(e.additionalContext) ? e.additionalContext : [];
    const additionalContext: ParsedReference[] = [];
    for (let j = 0; j < context.length; j++) {
      const c: unknown = context[j];
      const ref = parseReference(isObject(c) ? c.reference : undefined);
      if (!ref) return fail('additionalContext must be a Reference', `${at}.additionalContext[${j}].reference`, 'value');
      additionalContext.push(ref);
    }
    events.push({ eventNumber: n.value, timestamp: typeof e.timestamp === 'string' ? e.timestamp : undefined, focus, additionalContext });
  }
  const errors = Array.isArray(resource.error) ? resource.error.flatMap(codings) : [];
  return {
    ok: true,
    value: {
      subscription,
      topic: typeof resource.topic === 'string' ? resource.topic : undefined,
      status: resource.status,
      type: type.value,
      eventsSinceSubscriptionStart: since,
      events,
      errors,
    },
  };
}

/** Parses a status resource of either shape (R4 Parameters or R4B SubscriptionStatus). */
export function parseStatusResource(resource: unknown, path: string): IntakeParseResult<BackportStatus> {
  if (!isObject(resource)) return fail('the status must be a resource', path, 'required');
  if (resource.resourceType === 'Parameters') return parseStatusParameters(resource, path);
  if (resource.resourceType === 'SubscriptionStatus') return parseSubscriptionStatusR4B(resource, path);
  return fail('the first entry must be a SubscriptionStatus (Parameters in R4)', `${path}.resourceType`, 'invalid');
}

/**
 * Parses a notification Bundle (Backport IG §Notifications, R4: `Bundle.type` = `history`, the
 * first entry the SubscriptionStatus; R4B/R5 use `subscription-notification`). Every entry after
 * the first that carries a resource is returned in `resources`, for `full-resource` content.
 * Errors are 422 `OperationOutcome`s naming the element (`Bundle.entry[0].resource...`).
 */
export function parseNotificationBundle(bundle: Json): IntakeParseResult<BackportNotification> {
  if (bundle.resourceType !== 'Bundle') return fail('a notification must be a Bundle', 'Bundle.resourceType', 'invalid');
  if (bundle.type !== 'history' && bundle.type !== 'subscription-notification') {
    return fail('a notification Bundle has type history (R4) or subscription-notification (R4B)', 'Bundle.type', 'value');
  }
  const entries = bundle.entry;
  if (!Array.isArray(entries) || entries.length === 0) {
    return fail('a notification Bundle starts with its SubscriptionStatus entry', 'Bundle.entry', 'required');
  }
  const first: unknown = entries[0];
  const status = parseStatusResource(isObject(first) ? first.resource : undefined, 'Bundle.entry[0].resource');
  if (!status.ok) return status;
  const resources: CarriedResource[] = [];
  for (let i = 1; i < entries.length; i++) {
    const entry: unknown = entries[i];
    if (!isObject(entry)) return fail('an entry must be an object', `Bundle.entry[${i}]`, 'structure');
    const resource = entry.resource;
    if (resource === undefined) continue;
    if (!isObject(resource) || typeof resource.resourceType !== 'string') {
      return fail('an entry resource must have a resourceType', `Bundle.entry[${i}].resource.resourceType`, 'required');
    }
    const meta = isObject(resource.meta) ? resource.meta : {};
    resources.push({
      resourceType: resource.resourceType,
      id: typeof resource.id === 'string' ? resource.id : undefined,
      versionId: typeof meta.versionId === 'string' ? meta.versionId : undefined,
      resource,
    });
  }
  return { ok: true, value: { ...status.value, resources } };
}
