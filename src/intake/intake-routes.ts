import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { allOk, outcome } from '../fhir/operation-outcome.js';
import { errorResponses, operationOutcomeSchema, parsedBodySchema } from '../http/route-schemas.js';
import type { AssessmentQueue } from '../jobs/assessment-queue.js';
import type { Metrics } from '../observability/create-metrics.js';
import { createDeliveryReplayStore } from '../store/delivery-replay-repository.js';
import { findSubscription } from '../store/subscriptions-repository.js';
import type { SubscriptionRow } from '../store/subscriptions-repository.js';
import { authenticateNotification } from './authenticate-notification.js';
import type { IntakeEvent } from '../contracts/intake-event.js';
import type { IntakeParseResult } from './parse-rest-hook.js';
import { parseRestHookResource } from './parse-rest-hook.js';
import { storeNotification } from './store-notification.js';
import type { StoreOptions } from './store-notification.js';
import { parseBackportDelivery } from './parse-backport-delivery.js';
import type { IntakeAlerts } from './intake-alerts.js';

/** Dependencies of the intake endpoints. */
export interface IntakeRouteOptions {
  pool: Pool;
  queue: AssessmentQueue;
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
  /** Where subscription `error`/`off` states are reported (logs + metrics). */
  alerts: IntakeAlerts;
  /** SUBSCRIPTION_EVENT_GAP_WINDOW (default 100). */
  gapWindow?: number;
  /** INTAKE_REPLAY_WINDOW_S (default one day). */
  replayWindowSeconds?: number;
}

/** What a parser hands to the store: events, and for Backport IG notifications the status. */
interface ParsedDelivery {
  events: IntakeEvent[];
  store?: StoreOptions;
}

const responses = { 200: operationOutcomeSchema, ...errorResponses };

/** The notification as sent; parsed (and its signature checked on the raw bytes) by the handler. */
const notificationBody = parsedBodySchema(
  'A FHIR resource (rest-hook with payload), a topic-based notification Bundle (R4 Backport IG, R4B or R5), or nothing (a ping).',
);

/**
 * Rest-hook intake. The subscription key in the path identifies which subscription (and secret)
 * the EHR is delivering for; it is the `channel.endpoint` fhir-fusion registers.
 *
 * - `POST /intake/{key}`: the resource in the body (Medplum) — or no body at all (a ping);
 * - `PUT /intake/{key}/{type}/{id}`: the resource PUT to `{endpoint}/{type}/{id}` (HAPI FHIR, the
 *   R4 Subscription page's reading of rest-hook with a payload).
 */
export async function intakeRoutes(app: FastifyInstance, options: IntakeRouteOptions): Promise<void> {
  const { pool, queue, metrics } = options;
  // Everything a notification request runs after routing (parse, inbox write, enqueue) is intake.
  if (metrics.stageClock.enabled) app.addHook('onRequest', (_request, _reply, done) => metrics.stageClock.run('intake', done));
  const replayWindowSeconds = options.replayWindowSeconds ?? 86_400;
  const replays = createDeliveryReplayStore(pool, replayWindowSeconds);

  // Keep the raw bytes: Medplum's X-Signature is an HMAC over them, not over re-serialised JSON.
  app.addContentTypeParser(
    ['application/fhir+json', 'application/json'],
    { parseAs: 'buffer', bodyLimit: options.maxBodyBytes },
    (_request, body, done) => done(null, body),
  );

  async function accept(
    request: FastifyRequest,
    reply: FastifyReply,
    key: string,
    parse: (raw: Buffer, subscription: SubscriptionRow) => IntakeParseResult<ParsedDelivery>,
    dialect: string,
  ): Promise<unknown> {
    metrics.notificationsReceived.inc({ dialect });
    const reject = (status: number, body: ReturnType<typeof outcome>, reason: string): unknown => {
      metrics.notificationsRejected.inc({ reason });
      return reply.status(status).type('application/fhir+json').send(body);
    };
    const subscription = await findSubscription(pool, key);
    if (!subscription) return reject(404, outcome('not-found', 'Unknown subscription'), 'unknown-subscription');
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    if (!subscription.secret || !authenticateNotification(subscription.secret, request.headers, raw)) {
      return reject(401, outcome('security', 'Notification is not authenticated for this subscription'), 'unauthenticated');
    }
    const stamp = deliveryTimestamp(request.headers);
    if (stamp !== undefined) {
      const age = Date.now() / 1000 - stamp;
      if (!Number.isFinite(age) || age > replayWindowSeconds || age < -MAX_CLOCK_AHEAD_S) {
        return reject(401, outcome('security', 'The delivery timestamp is outside the accepted window', 'webhook-timestamp'), 'stale-timestamp');
      }
    }
    // Replays (docs/threat-model.md): X-Signature covers only the body, so the same bytes could be
    // re-sent forever. A byte-identical delivery inside the window is answered 200 and does nothing
    // (no status, heartbeat or handshake update, no event): an EHR retrying after a lost 2xx sends
    // the same bytes and must not be refused. Empty bodies (pings) carry nothing to replay.
    const hash = raw.length > 0 ? createHash('sha256').update(raw).digest() : undefined;
    if (hash && (await replays.seen(key, hash))) {
      // Not a refusal: an EHR retrying after a lost 2xx is behaving correctly.
      metrics.notificationsRedelivered.inc();
      return reply.status(200).type('application/fhir+json').send(allOk('Notification already received (same delivery within the replay window)'));
    }
    const parsed = parse(raw, subscription);
    if (!parsed.ok) return reject(parsed.status, parsed.outcome, parsed.status === 404 ? 'unknown-subscription' : 'invalid');
    const traceId = randomUUID();
    const { subscription: updated, ...stored } = await storeNotification(pool, queue, key, parsed.value.events, traceId, {
      ...parsed.value.store,
      ...(options.gapWindow ? { gapWindow: options.gapWindow } : {}),
    });
    if (hash) await replays.remember(key, hash);
    metrics.notificationsAccepted.inc();
    request.log.info({ traceId, subscription: key, ...stored }, 'notification stored');
    if (updated && (updated.status === 'error' || updated.status === 'off')) options.alerts.subscriptionState(updated);
    return reply
      .status(200)
      .type('application/fhir+json')
      .send(allOk(stored.stored > 0 ? 'Notification stored' : 'Notification already received'));
  }

  app.post<{ Params: { key: string } }>(
    '/intake/:key',
    {
      schema: {
        params: { type: 'object', properties: { key: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } } },
        body: notificationBody,
        response: responses,
      },
    },
    async (request, reply) => {
      if (request.body !== undefined && request.body !== null && !Buffer.isBuffer(request.body) && String(request.body).length > 0) {
        // A body in another media type (fastify parsed it as text): not a FHIR notification.
        metrics.notificationsRejected.inc({ reason: 'unsupported-media-type' });
        return reply
          .status(415)
          .type('application/fhir+json')
          .send(outcome('not-supported', 'Notifications must be application/fhir+json or application/json'));
      }
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (raw.length === 0) {
        // A ping (R4 rest-hook without payload): remember it; the catch-up search runs from the inbox.
        return accept(request, reply, request.params.key, () => ({
          ok: true,
          value: { events: [{ dialect: 'rest-hook-ping', dedupeKey: `ping:${request.params.key}:${randomUUID()}` }] },
        }), 'rest-hook-ping');
      }
      // A Bundle is a topic-based notification (R4 Backport, R4B, R5); any other resource is Medplum's POST.
      if (looksLikeBundle(raw)) {
        return accept(request, reply, request.params.key, (body, row) => parseBackportDelivery(body, row), 'backport');
      }
      return accept(request, reply, request.params.key, (body) => wrap(parseRestHookResource(body, 'rest-hook-post')), 'rest-hook-post');
    },
  );

  app.put<{ Params: { key: string; type: string; id: string } }>(
    '/intake/:key/:type/:id',
    {
      schema: {
        params: {
          type: 'object',
          properties: {
            key: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
            type: { type: 'string', pattern: '^[A-Z][A-Za-z]{1,63}$' },
            id: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' },
          },
        },
        body: notificationBody,
        response: responses,
      },
    },
    async (request, reply) =>
      accept(
        request,
        reply,
        request.params.key,
        (body) => wrap(parseRestHookResource(body, 'rest-hook-put', { type: request.params.type, id: request.params.id })),
        'rest-hook-put',
      ),
  );
}

/** A delivery dated this far in the future (seconds) is refused: clocks differ, but not by more. */
const MAX_CLOCK_AHEAD_S = 300;

/**
 * The delivery time an EHR states in a header, in seconds since the epoch: `webhook-timestamp`
 * (Standard Webhooks, integer seconds) or `x-timestamp` (seconds, or an HTTP-date / ISO instant).
 * Undefined when the EHR sends none (Medplum, HAPI FHIR); NaN when it is unreadable.
 */
function deliveryTimestamp(headers: FastifyRequest['headers']): number | undefined {
  const value = headers['webhook-timestamp'] ?? headers['x-timestamp'];
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  if (/^\d{1,12}$/.test(text.trim())) return Number(text.trim());
  return Date.parse(text) / 1000;
}

function wrap(result: IntakeParseResult<IntakeEvent>): IntakeParseResult<ParsedDelivery> {
  return result.ok ? { ok: true, value: { events: [result.value] } } : result;
}

/** Cheap check on the first bytes, so only Bundles take the Backport path (full parse follows). */
function looksLikeBundle(raw: Buffer): boolean {
  return /"resourceType"\s*:\s*"Bundle"/.test(raw.subarray(0, 4096).toString('utf8'));
}
