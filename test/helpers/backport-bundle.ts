import { createHmac } from 'node:crypto';

/** What {@link backportBundle} puts in a notification. */
export interface BackportBundleOptions {
  subscriptionId: string;
  type?: 'handshake' | 'heartbeat' | 'event-notification' | 'query-status';
  status?: string;
  eventsSinceSubscriptionStart?: number | string;
  /** One `notification-event` per entry: event number and focus reference. */
  events?: Array<{ eventNumber: number | string; focus?: string }>;
  /** Resources carried after the status (full-resource content). */
  resources?: Array<Record<string, unknown>>;
  /**
   * Encoding (default R4): R4 = `history` + Parameters; R4B = `history` + SubscriptionStatus;
   * R5 = `subscription-notification` + SubscriptionStatus.
   */
  release?: 'R4' | 'R4B' | 'R5';
}

/** The R4B/R5 SubscriptionStatus resource with the same content as the R4 Parameters. */
function subscriptionStatus(options: BackportBundleOptions): Record<string, unknown> {
  return {
    resourceType: 'SubscriptionStatus',
    status: options.status ?? 'active',
    type: options.type ?? 'event-notification',
    ...(options.eventsSinceSubscriptionStart !== undefined ? { eventsSinceSubscriptionStart: String(options.eventsSinceSubscriptionStart) } : {}),
    ...((options.events ?? []).length > 0
      ? {
          notificationEvent: (options.events ?? []).map((e) => ({
            eventNumber: String(e.eventNumber),
            timestamp: new Date().toISOString(),
            ...(e.focus ? { focus: { reference: e.focus } } : {}),
          })),
        }
      : {}),
    subscription: { reference: `Subscription/${options.subscriptionId}` },
    topic: 'http://example.org/SubscriptionTopic/observation',
  };
}

/**
 * A topic-based notification Bundle: by default the Backport IG's R4 shape (`Bundle.type` =
 * `history`, the first entry a `Parameters` SubscriptionStatus, profile
 * backport-subscription-status-r4), or the R4B/R5 shape with `release`; then the carried resources.
 * Built by the tests themselves (no shared fixture).
 */
export function backportBundle(options: BackportBundleOptions): Record<string, unknown> {
  const release = options.release ?? 'R4';
  const parameter: Array<Record<string, unknown>> = [
    { name: 'subscription', valueReference: { reference: `Subscription/${options.subscriptionId}` } },
    { name: 'topic', valueCanonical: 'http://example.org/SubscriptionTopic/observation' },
    { name: 'status', valueCode: options.status ?? 'active' },
    { name: 'type', valueCode: options.type ?? 'event-notification' },
  ];
  if (options.eventsSinceSubscriptionStart !== undefined) {
    parameter.push({ name: 'events-since-subscription-start', valueString: String(options.eventsSinceSubscriptionStart) });
  }
  for (const event of options.events ?? []) {
    const part: Array<Record<string, unknown>> = [
      { name: 'event-number', valueString: String(event.eventNumber) },
      { name: 'timestamp', valueInstant: new Date().toISOString() },
    ];
    if (event.focus) part.push({ name: 'focus', valueReference: { reference: event.focus } });
    parameter.push({ name: 'notification-event', part });
  }
  const status = release === 'R4' ? { resourceType: 'Parameters', parameter } : subscriptionStatus(options);
  return {
    resourceType: 'Bundle',
    type: release === 'R5' ? 'subscription-notification' : 'history',
    timestamp: new Date().toISOString(),
    entry: [
      { fullUrl: 'urn:uuid:9a7b1c5e-0d3f-4e52-8f1a-2b3c4d5e6f70', resource: status, request: { method: 'GET', url: `Subscription/${options.subscriptionId}/$status` }, response: { status: '200' } },
      ...(options.resources ?? []).map((resource) => ({ resource, request: { method: 'PUT', url: `${String(resource.resourceType)}/${String(resource.id)}` }, response: { status: '200' } })),
    ],
  };
}

/** Medplum-style `X-Signature`: hex HMAC-SHA256 of the exact body bytes with the subscription secret. */
export function signBody(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
