import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Bundle, Subscription } from '@medplum/fhirtypes';
import type { SandboxTopic } from '../backport/sandbox-topics.js';
import type { SandboxRelease } from '../backport/notification-bundle.js';
import { backportToR5, r5ToBackport } from './r5-subscription-shape.js';
import { topicAsSubscriptionTopic } from './subscription-topic-resource.js';

/** Options of {@link registerNativeSubscriptionRoutes}. */
export interface NativeSubscriptionRoutesOptions {
  release: Exclude<SandboxRelease, 'R4'>;
  topics: readonly SandboxTopic[];
  /** Path prefix of the FHIR scope (e.g. `/fhir`). */
  prefix: string;
}

/** `Subscription`, `Subscription/{id}` (with a query or `_history`) — not `$status`/`$events`. */
const SUBSCRIPTION_PATH =
  /^\/Subscription(?:\/[A-Za-z0-9\-.]{1,64}(?:\/_history(?:\/[A-Za-z0-9\-.]{1,64})?)?)?\/?(?:\?.*)?$/;

function pathOf(request: FastifyRequest, prefix: string): string {
  return request.url.slice(prefix.length);
}

/**
 * What makes the sandbox an R4B or R5 server for subscriptions, on the FHIR scope (register it
 * before the generic FHIR routes so its hooks cover them):
 * - both: `GET SubscriptionTopic` and `GET SubscriptionTopic/{id}` serve the sandbox topics as
 *   SubscriptionTopic resources (R4B and R5 have the resource; the R4 form is `Basic`);
 * - R5: Subscriptions are R5-shaped on the wire — a create or update is translated to the Backport
 *   form the store keeps ({@link r5ToBackport}; an R4-style `criteria` Subscription is refused), and
 *   every Subscription answered (read, search, create, update) is translated back.
 * R4B needs no translation: its Subscription is R4's, topic-based through the Backport profile.
 */
export function registerNativeSubscriptionRoutes(
  app: FastifyInstance,
  options: NativeSubscriptionRoutesOptions,
): void {
  const topics = options.topics.map(topicAsSubscriptionTopic);
  app.get('/SubscriptionTopic', async (_request, reply) => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: topics.length,
      entry: topics.map((resource) => ({ resource, search: { mode: 'match' } })),
    };
    return reply.type('application/fhir+json').send(bundle);
  });
  app.get<{ Params: { id: string } }>('/SubscriptionTopic/:id', async (request, reply) => {
    const found = topics.find((t) => t.id === request.params.id);
    if (!found) {
      return reply
        .code(404)
        .type('application/fhir+json')
        .send({
          resourceType: 'OperationOutcome',
          issue: [
            {
              severity: 'error',
              code: 'not-found',
              details: { text: `SubscriptionTopic/${request.params.id} not found` },
            },
          ],
        });
    }
    return reply.type('application/fhir+json').send(found);
  });
  if (options.release !== 'R5') return;

  app.addHook('preHandler', async (request) => {
    if (request.method !== 'POST' && request.method !== 'PUT') return;
    if (!SUBSCRIPTION_PATH.test(pathOf(request, options.prefix))) return;
    const body = request.body as Record<string, unknown> | undefined;
    if (body?.resourceType !== 'Subscription') return;
    request.body = r5ToBackport(body, options.topics);
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    if (typeof payload !== 'string' || !SUBSCRIPTION_PATH.test(pathOf(request, options.prefix)))
      return payload;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return payload;
    }
    const resource = parsed as Subscription | Bundle;
    if (resource.resourceType === 'Subscription') return JSON.stringify(backportToR5(resource));
    if (resource.resourceType === 'Bundle') {
      const entry = (resource.entry ?? []).map((e) =>
        e.resource?.resourceType === 'Subscription' ? { ...e, resource: backportToR5(e.resource) } : e,
      );
      return JSON.stringify({ ...resource, entry });
    }
    return payload;
  });
}
