import cors from '@fastify/cors';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Config } from '../../config/config-schema.js';
import { outcome } from '../../fhir/operation-outcome.js';
import type { FetchLike } from '../../contracts/fetch-like.js';
import { createRedirectGuardedFetch } from '../../fhir/outbound-fetch.js';
import { errorResponses, looseObjectSchema, parsedBodySchema, textResponse } from '../../http/route-schemas.js';
import type { Metrics } from '../../observability/create-metrics.js';
import type { ServedModel } from '../../contracts/served-model.js';
import { answerHook } from './answer-hook.js';
import { recordFeedback, recordIssuedCards, unknownCards } from '../../store/cds-card-repository.js';
import { CDS_SERVICES, findCdsService } from './cds-service-definitions.js';
import { createCardModelLookup } from './card-model-lookup.js';
import { servedModelOrder } from './choose-card-assessment.js';
import { createPgJtiReplayStore } from '../../store/jti-replay-repository.js';
import { loadHookData } from './load-hook-data.js';
import { parseFeedback } from './parse-feedback.js';
import { parseHookRequest } from './parse-hook-request.js';
import { createCdsClientJwtVerifier, type CdsClientJwtVerifier } from './verify-cds-client-jwt.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/** Options of {@link cdsHooksPlugin}. */
export interface CdsHooksPluginOptions {
  config: Config;
  pool: Pool;
  metrics: Metrics;
  /** The models this server serves (for card labels and model-card links). */
  models: () => readonly ServedModel[];
  /** Fetch to our own EHR with our credentials (`createEhrFetch(...).fetch`). */
  ownFetch: FetchLike;
  /** Base fetch for calls with the client's token and for client JWKS (tests inject one). */
  fetch?: FetchLike;
  /** Replaces the JWT verifier (tests of other parts). */
  verifier?: CdsClientJwtVerifier;
  /** Clock for card age (tests). */
  now?: () => number;
}

const JSON_TYPE = 'application/json';

/** `{id}` of a CDS service (§Calling a CDS Service: `{baseUrl}/cds-services/{service.id}`); looked up by the handler. */
const serviceParams = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } as const;

/** §Discovery: `services`, each with hook, title, description, id and prefetch. */
const discoverySchema = {
  response: {
    200: {
      type: 'object',
      required: ['services'],
      properties: { services: { type: 'array', items: looseObjectSchema('A CDS Service definition.') } },
    },
  },
} as const;

/**
 * §HTTP Request / §CDS Service Response. The body is parsed by `parseHookRequest` after the client
 * JWT is verified (§Trusting CDS Clients), so its schema only documents it.
 */
const serviceSchema = {
  params: serviceParams,
  body: parsedBodySchema('§HTTP Request: hook, hookInstance, context, and optionally fhirServer, fhirAuthorization, prefetch.'),
  response: {
    200: {
      type: 'object',
      required: ['cards'],
      properties: { cards: { type: 'array', items: looseObjectSchema('A CDS Hooks card.') } },
      additionalProperties: true,
    },
    ...errorResponses,
  },
} as const;

/** §Feedback: parsed by `parseFeedback` after the client JWT is verified; answered with `{}`. */
const feedbackSchema = {
  params: serviceParams,
  body: parsedBodySchema('§Feedback: `feedback`, a non-empty array of { card, outcome, outcomeTimestamp, acceptedSuggestions?, overrideReason? }.'),
  response: { 200: { type: 'object', description: 'Empty object: the feedback is recorded.' }, ...errorResponses },
} as const;

function sendOutcome(reply: FastifyReply, status: number, body: OperationOutcome): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer error="invalid_token"');
  return reply.status(status).type('application/fhir+json').send(body);
}

function withTimeout(base: FetchLike, timeoutMs: number): FetchLike {
  return (input, init) => base(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

/**
 * The CDS Hooks 2.0 service (https://cds-hooks.hl7.org/2.0/), registered with prefix
 * `/cds-services`: discovery (`GET /cds-services`), the `patient-view` and `encounter-start`
 * services (`POST /cds-services/{id}`), feedback (`POST /cds-services/{id}/feedback`) and the
 * model cards that card sources link to. Service and feedback calls need a CDS client JWT; CORS
 * is enabled for browser-based clients (§Cross-Origin Resource Sharing). Cards are recorded so
 * feedback can be tied to them, and feedback is counted in `metrics.cdsFeedback`.
 */
export async function cdsHooksPlugin(app: FastifyInstance, options: CdsHooksPluginOptions): Promise<void> {
  const { config, pool, metrics } = options;
  const publicUrl = withoutTrailingSlash(config.PUBLIC_URL);
  // JWKS and the CDS client's FHIR server: redirects are followed only within the origin asked for.
  const baseFetch = createRedirectGuardedFetch({ fetch: options.fetch ?? globalThis.fetch });
  const verify =
    options.verifier ??
    createCdsClientJwtVerifier({ clients: config.CDS_HOOKS_CLIENTS, replay: createPgJtiReplayStore(pool), fetch: withTimeout(baseFetch, config.OUTBOUND_TIMEOUT_MS) });
  const modelLookup = createCardModelLookup(options.models, publicUrl);
  const now = options.now ?? Date.now;
  const origins = config.CDS_HOOKS_CORS_ORIGINS;

  // Encapsulated: CORS applies to these routes only, and its OPTIONS route stays under the prefix.
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    maxAge: 600,
  });

  app.get('/', { schema: discoverySchema }, async (_request, reply) => reply.type(JSON_TYPE).send({ services: CDS_SERVICES }));

  app.get<{ Params: { name: string; version: string } }>(
    '/model-cards/:name/:version',
    {
      schema: {
        params: {
          type: 'object',
          required: ['name', 'version'],
          properties: { name: { type: 'string', maxLength: 100 }, version: { type: 'string', maxLength: 100 } },
        },
        response: { 200: textResponse('text/markdown', 'The model card (Markdown).'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const served = options.models().find((m) => m.manifest.name === request.params.name && m.manifest.version === request.params.version);
      if (!served) return sendOutcome(reply, 404, outcome('not-found', 'No such served model', 'name'));
      return reply.type('text/markdown; charset=utf-8').send(served.cardMarkdown);
    },
  );

  app.post<{ Params: { id: string } }>('/:id', { schema: serviceSchema }, async (request, reply) => {
    const service = findCdsService(request.params.id);
    if (!service) return sendOutcome(reply, 404, outcome('not-found', 'No such CDS service', 'id'));
    // §Trusting CDS Clients: aud is the URL of the CDS Service endpoint being invoked.
    const auth = await verify(request.headers.authorization, [`${publicUrl}/cds-services/${service.id}`]);
    if (!auth.ok) return sendOutcome(reply, 401, auth.issue);
    const parsed = parseHookRequest(request.body, service.hook);
    if (!parsed.ok) return sendOutcome(reply, 400, parsed.issue);
    const data = await loadHookData(parsed.value, {
      clientFetch: withTimeout(baseFetch, config.OUTBOUND_TIMEOUT_MS),
      ownFetch: options.ownFetch,
      ownFhirBaseUrl: config.FHIR_BASE_URL,
      allowedFhirServers: [config.FHIR_BASE_URL, ...config.SMART_APP_ISSUERS],
      searchDrafts: config.DESCRIPTION_MODEL !== 'off',
    });
    if (!data.ok) return sendOutcome(reply, data.status, data.issue);
    const { response, issued } = answerHook({
      serviceId: service.id,
      request: parsed.value,
      data: data.value,
      clientIss: auth.value.iss,
      policy: {
        models: config.CDS_HOOKS_MODELS,
        served: servedModelOrder(
          config.ACTIVE_MODELS,
          options.models().map((m) => m.manifest.name),
        ),
        minRisk: config.CDS_HOOKS_MIN_RISK,
      },
      card: {
        reviewLaunchUrl: `${publicUrl}/review/launch`,
        maxAgeMs: config.CDS_HOOKS_MAX_ASSESSMENT_AGE_MS,
        now: now(),
        newUuid: randomUUID,
        model: modelLookup,
      },
    });
    await recordIssuedCards(pool, issued);
    request.log.info({ service: service.id, cards: issued.length, dataSource: data.value.source }, 'cds hook answered');
    return reply.type(JSON_TYPE).send(response);
  });

  app.post<{ Params: { id: string } }>('/:id/feedback', { schema: feedbackSchema }, async (request, reply) => {
    const service = findCdsService(request.params.id);
    if (!service) return sendOutcome(reply, 404, outcome('not-found', 'No such CDS service', 'id'));
    const auth = await verify(request.headers.authorization, [
      `${publicUrl}/cds-services/${service.id}`,
      `${publicUrl}/cds-services/${service.id}/feedback`,
    ]);
    if (!auth.ok) return sendOutcome(reply, 401, auth.issue);
    const parsed = parseFeedback(request.body);
    if (!parsed.ok) return sendOutcome(reply, 400, parsed.issue);
    const unknown = await unknownCards(pool, service.id, parsed.value.map((f) => f.card));
    if (unknown.length > 0) {
      const index = parsed.value.findIndex((f) => f.card === unknown[0]);
      return sendOutcome(reply, 400, outcome('invalid', 'This service issued no card with that uuid', `feedback[${index}].card`));
    }
    await recordFeedback(pool, service.id, auth.value.iss, parsed.value);
    for (const item of parsed.value) metrics.cdsFeedback.inc({ outcome: item.outcome });
    return reply.type(JSON_TYPE).send({});
  });
}
