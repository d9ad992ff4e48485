import type { IntakeParseResult } from './parse-rest-hook.js';
import type { BackportEvent, BackportStatus, Json, ParsedReference } from './notification-values.js';
import { codings, fail, isObject, parseCount, parseReference, parseType } from './notification-values.js';

/**
 * Parses a `SubscriptionStatus` resource — R4B §SubscriptionStatus or R5 §SubscriptionStatus —
 * into the same status the R4 Parameters give. The elements used are the same in both releases:
 * `status` (1..1), `type` (1..1), `eventsSinceSubscriptionStart` (R4B `string`, R5 `integer64`),
 * `notificationEvent[]` (`eventNumber` 1..1 — R4B `string`, R5 `integer64` —, `timestamp`, `focus`,
 * `additionalContext[]`), `subscription` (1..1 Reference), `topic` (canonical) and `error[]`
 * (CodeableConcept). `path` is the element path of the resource, for errors.
 */
export function parseSubscriptionStatus(
  resource: Json,
  path: string,
  release: 'R4B' | 'R5',
): IntakeParseResult<BackportStatus> {
  const subscriptionPath = `${path}.subscription.reference`;
  const subscription = parseReference(
    isObject(resource.subscription) ? resource.subscription.reference : undefined,
  );
  if (!subscription?.id)
    return fail('subscription must reference a Subscription', subscriptionPath, 'required');
  if (typeof resource.status !== 'string') return fail('status is required', `${path}.status`, 'required');
  const type = parseType(resource.type, `${path}.type`);
  if (!type.ok) return type;
  let since: number | undefined;
  if (resource.eventsSinceSubscriptionStart !== undefined) {
    const parsed = parseCount(resource.eventsSinceSubscriptionStart, `${path}.eventsSinceSubscriptionStart`);
    if (!parsed.ok) return parsed;
    since = parsed.value;
  }
  const list = resource.notificationEvent ?? [];
  if (!Array.isArray(list))
    return fail('notificationEvent must be an array', `${path}.notificationEvent`, 'structure');
  const events: BackportEvent[] = [];
  for (let i = 0; i < list.length; i++) {
    const parsed = parseNotificationEvent(list[i], `${path}.notificationEvent[${i}]`);
    if (!parsed.ok) return parsed;
    events.push(parsed.value);
  }
  const errorList = resource.error ?? [];
  if (!Array.isArray(errorList))
    return fail('error must be an array of CodeableConcept', `${path}.error`, 'structure');
  return {
    ok: true,
    value: {
      release,
      subscription,
      subscriptionPath,
      topic: typeof resource.topic === 'string' ? resource.topic : undefined,
      status: resource.status,
      type: type.value,
      eventsSinceSubscriptionStart: since,
      events,
      errors: errorList.flatMap(codings),
    },
  };
}

function parseNotificationEvent(value: unknown, at: string): IntakeParseResult<BackportEvent> {
  if (!isObject(value)) return fail('notificationEvent must be an object', at, 'structure');
  if (value.eventNumber === undefined)
    return fail('eventNumber is required', `${at}.eventNumber`, 'required');
  const n = parseCount(value.eventNumber, `${at}.eventNumber`);
  if (!n.ok) return n;
  let focus: ParsedReference | undefined;
  if (value.focus !== undefined) {
    focus = parseReference(isObject(value.focus) ? value.focus.reference : undefined);
    if (!focus) return fail('focus must be a Reference', `${at}.focus.reference`, 'value');
  }
  const context = value.additionalContext ?? [];
  if (!Array.isArray(context))
    return fail('additionalContext must be an array', `${at}.additionalContext`, 'structure');
  const additionalContext: ParsedReference[] = [];
  for (let j = 0; j < context.length; j++) {
    const c: unknown = context[j];
    const ref = parseReference(isObject(c) ? c.reference : undefined);
    if (!ref)
      return fail(
        'additionalContext must be a Reference',
        `${at}.additionalContext[${j}].reference`,
        'value',
      );
    additionalContext.push(ref);
  }
  return {
    ok: true,
    value: {
      eventNumber: n.value,
      timestamp: typeof value.timestamp === 'string' ? value.timestamp : undefined,
      focus,
      additionalContext,
    },
  };
}
