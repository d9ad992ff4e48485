import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { allOk, outcome } from '../fhir/operation-outcome.js';
import type { AssessmentQueue } from '../jobs/assessment-queue.js';
import type { Metrics } from '../observability/create-metrics.js';
import { findSubscription } from '../store/subscriptions-repository.js';
import { authenticateNotification } from './authenticate-notification.js';
import type { IntakeEvent } from './intake-event.js';
import type { ParseResult } from './parse-rest-hook.js';
import { parseRestHookResource } from './parse-rest-hook.js';
import { storeNotification } from './store-notification.js';

/** Dependencies of the intake endpoints. */
export interface IntakeRouteOptions {
  pool: Pool;
  queue: AssessmentQueue;
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
}

const operationOutcomeSchema = {
  type: 'object',
  required: ['resourceType', 'issue'],
  properties: { resourceType: { const: 'OperationOutcome' }, issue: { type: 'array' } },
  additionalProperties: true,
} as const;

const responses = { 200: operationOutcomeSchema, '4xx': operationOutcomeSchema, '5xx': operationOutcomeSchema };

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
    parse: (raw: Buffer) => ParseResult<IntakeEvent[]>,
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
    const parsed = parse(raw);
    if (!parsed.ok) return reject(parsed.status, parsed.outcome, 'invalid');
    const traceId = randomUUID();
    const stored = await storeNotification(pool, queue, key, parsed.value, traceId);
    metrics.notificationsAccepted.inc();
    request.log.info({ traceId, subscription: key, ...stored }, 'notification stored');
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
        response: responses,
      },
    },
    async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (raw.length === 0) {
        // A ping (R4 rest-hook without payload): remember it; the catch-up search runs from the inbox.
        return accept(request, reply, request.params.key, () => ({
          ok: true,
          value: [{ dialect: 'rest-hook-ping', dedupeKey: `ping:${request.params.key}:${randomUUID()}` }],
        }), 'rest-hook-ping');
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

function wrap(result: ParseResult<IntakeEvent>): ParseResult<IntakeEvent[]> {
  return result.ok ? { ok: true, value: [result.value] } : result;
}
