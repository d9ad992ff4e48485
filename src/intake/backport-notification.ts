import type { IntakeParseResult } from './parse-rest-hook.js';
import type { BackportEvent, BackportStatus, Json, ParsedReference } from './notification-values.js';
import { codings, fail, isObject, parseCount, parseReference, parseType } from './notification-values.js';
import type { BackportNotificationType } from './notification-values.js';
import { parseSubscriptionStatus } from './subscription-status-resource.js';

export { NOTIFICATION_TYPES, parseReference } from './notification-values.js';
export type { BackportEvent, BackportNotificationType, BackportStatus, NotificationRelease, ParsedReference } from './notification-values.js';

/** A resource carried in the notification Bundle after the status (full-resource content). */
export interface CarriedResource {
  resourceType: string;
  id?: string;
  versionId?: string;
  resource: Record<string, unknown>;
}

/** A parsed notification Bundle. */
export interface BackportNotification extends BackportStatus {
  /** Resources after the status entry (focus and additional context with full-resource content). */
  resources: CarriedResource[];
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
  let subscriptionPath = `${path}.parameter`;
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
        subscriptionPath = `${at}.valueReference.reference`;
        subscription = parseReference(isObject(p.valueReference) ? p.valueReference.reference : undefined);
        if (!subscription?.id) return fail('subscription must reference a Subscription', subscriptionPath, 'value');
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
  return {
    ok: true,
    value: { release: 'R4', subscription, subscriptionPath, topic, status, type, eventsSinceSubscriptionStart: since, events, errors },
  };
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
 * Parses a status resource of any release: an R4 Parameters (Backport IG profile
 * `backport-subscription-status-r4`) or a SubscriptionStatus. The R4B and R5 SubscriptionStatus
 * have the same elements, so `release` only labels which one the caller knows it is (the Bundle
 * type tells; a `$status` answer does not, and gets `R5`).
 */
export function parseStatusResource(resource: unknown, path: string, release: 'R4B' | 'R5' = 'R5'): IntakeParseResult<BackportStatus> {
  if (!isObject(resource)) return fail('the status must be a resource', path, 'required');
  if (resource.resourceType === 'Parameters') return parseStatusParameters(resource, path);
  if (resource.resourceType === 'SubscriptionStatus') return parseSubscriptionStatus(resource, path, release);
  return fail('the first entry must be a SubscriptionStatus (Parameters in R4)', `${path}.resourceType`, 'invalid');
}

/**
 * Parses a topic-based notification Bundle of any release into one shape:
 * - `history` + Parameters → R4 (Backport IG §Notifications: "all notifications are enclosed in a
 *   Bundle with the type of history", status as the R4 Parameters profile);
 * - `history` + SubscriptionStatus → R4B (the same IG section for R4B, and the R4B core examples
 *   such as notification-id-only.json: R4B has no `subscription-notification` Bundle type in use);
 * - `subscription-notification` + SubscriptionStatus → R5 (R5 §Bundle.type; invariant bdl-13: the
 *   first resource SHALL be a SubscriptionStatus — a Parameters there is refused).
 * Every entry after the first that carries a resource is returned in `resources`, for
 * `full-resource` content. Errors are 422 `OperationOutcome`s naming the element
 * (`Bundle.entry[0].resource...`).
 */
export function parseNotificationBundle(bundle: Json): IntakeParseResult<BackportNotification> {
  if (bundle.resourceType !== 'Bundle') return fail('a notification must be a Bundle', 'Bundle.resourceType', 'invalid');
  if (bundle.type !== 'history' && bundle.type !== 'subscription-notification') {
    return fail('a notification Bundle has type history (R4, R4B) or subscription-notification (R5)', 'Bundle.type', 'value');
  }
  const entries = bundle.entry;
  if (!Array.isArray(entries) || entries.length === 0) {
    return fail('a notification Bundle starts with its SubscriptionStatus entry', 'Bundle.entry', 'required');
  }
  const first: unknown = entries[0];
  const statusResource = isObject(first) ? first.resource : undefined;
  const r5 = bundle.type === 'subscription-notification';
  if (r5 && isObject(statusResource) && statusResource.resourceType !== 'SubscriptionStatus') {
    return fail(
      'a subscription-notification Bundle must start with a SubscriptionStatus (R5 Bundle invariant bdl-13)',
      'Bundle.entry[0].resource.resourceType',
      'invalid',
    );
  }
  const status = parseStatusResource(statusResource, 'Bundle.entry[0].resource', r5 ? 'R5' : 'R4B');
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
