import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { FhirRequest, FhirRouter, HttpMethod } from '@medplum/fhir-router';
import { getStatus, isOk } from '@medplum/core';
import type { SandboxRepository } from './sandbox-repository.js';
import type { FhirDefinitions } from './fhir-definitions.js';
import { errorToOutcome, outcomeOf } from './error-outcome.js';
import { addSearchLinks, fullUrlOf } from './search-bundle-links.js';
import { preprocessBundle, rebaseOutcome } from './bundle-preprocess.js';
import { buildCapabilityStatement } from './capability-statement.js';
import type { SandboxRelease } from './subscriptions/backport/notification-bundle.js';

/** FHIR JSON media type (FHIR R4 §3.1.0.1.6 http.html#mime-type). */
export const FHIR_JSON = 'application/fhir+json';

/** Page size when a search names no `_count`, and the largest page served. */
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 1000;

/** Options of {@link registerFhirRoutes}. */
export interface FhirRoutesOptions {
  router: FhirRouter;
  repo: SandboxRepository;
  definitions: FhirDefinitions;
  /** Path prefix this scope is registered under (`app.register(..., { prefix })`), e.g. `/fhir`. */
  prefix: string;
  /** The release `metadata` announces (default R4). */
  release?: SandboxRelease;
  /** Called before every FHIR request; throw (with `statusCode` 401/403) to refuse it. */
  authorize?: (request: FastifyRequest) => Promise<void>;
}

/**
 * Registers, on a fastify scope registered with `{ prefix }`, the FHIR R4 REST API (read, vread, history, search, create, update, conditional
 * create/update, delete, patch, batch/transaction, `metadata`) on a fastify scope, delegating to
 * `@medplum/fhir-router`. Bodies are `application/fhir+json`; every error is an
 * `OperationOutcome`.
 */
export async function registerFhirRoutes(app: FastifyInstance, options: FhirRoutesOptions): Promise<void> {
  const { router, repo, definitions, prefix } = options;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', FHIR_JSON, 'application/json-patch+json'], { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(Object.assign(new Error('Request body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
  });

  app.setErrorHandler((err, _request, reply) => {
    const { status, outcome } = errorToOutcome(err);
    return sendOutcome(reply, status, outcome);
  });
  app.setNotFoundHandler((_request, reply) => sendOutcome(reply, 404, outcomeOf('not-found', 'Not found')));

  if (options.authorize) {
    const authorize = options.authorize;
    app.addHook('onRequest', async (request) => {
      await authorize(request);
    });
    // A batch/transaction Bundle is checked again once its body is parsed, entry by entry
    // (checkSmartAccess): at onRequest only the token can be.
    app.addHook('preHandler', async (request) => {
      if (request.method === 'POST' && (request.body as { resourceType?: unknown } | undefined)?.resourceType === 'Bundle') await authorize(request);
    });
  }

  app.get('/metadata', async (request, reply) => {
    return reply.type(FHIR_JSON).send(buildCapabilityStatement(baseUrlOf(request, prefix), options.release));
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const baseUrl = baseUrlOf(request, prefix);
    const relative = request.url.slice(prefix.length).replace(/^\/+/, '');
    const method = request.method as HttpMethod;
    const queryStart = relative.indexOf('?');
    const path = queryStart === -1 ? relative : relative.slice(0, queryStart);
    const query = new URLSearchParams(queryStart === -1 ? '' : relative.slice(queryStart + 1));
    const body = request.body as Resource | undefined;

    let url = relative;
    const route = router.find(method, relative);
    const interaction = route?.data?.interaction;
    let pageSize = DEFAULT_PAGE_SIZE;
    if (interaction === 'search-type' && method === 'GET') {
      // FHIR R4 §3.1.1.6: the server chooses a page size when `_count` is absent.
      const requested = Number.parseInt(query.get('_count') ?? '', 10);
      pageSize = Number.isFinite(requested) && requested >= 0 ? Math.min(requested, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
      query.set('_count', String(pageSize));
      url = `${path}?${query.toString()}`;
    }

    let prevalidated = false;
    if (interaction === 'batch' && body?.resourceType === 'Bundle') {
      const rejection = await preprocessBundle(body, repo, definitions);
      if (rejection) return sendOutcome(reply, getStatus(rejection), rejection);
      // preprocessBundle validated every POST/PUT of a transaction; PATCH results were not.
      prevalidated = body.type === 'transaction' && !(body.entry ?? []).some((e) => e.request?.method === 'PATCH');
    }

    const fhirRequest: FhirRequest = {
      method,
      url,
      pathname: '',
      body,
      params: {},
      query: {},
      headers: request.headers,
      // Without `transactions: true` the router would run a transaction Bundle as a batch.
      config: { transactions: true },
    };
    const [outcome, resource] = prevalidated
      ? await repo.withPrevalidatedWrites(() => router.handleRequest(fhirRequest, repo))
      : await router.handleRequest(fhirRequest, repo);
    const status = getStatus(outcome);
    if (!resource) return sendOutcome(reply, status, outcome);
    if (!isOk(outcome)) return sendOutcome(reply, status, outcome);

    let payload: Resource = resource;
    if (resource.resourceType === 'Bundle') {
      payload = decorateBundle(resource, body, baseUrl, path, query, pageSize, interaction === 'search-type' || interaction === 'search-system');
    } else if (resource.id && resource.meta?.versionId) {
      reply.header('ETag', `W/"${resource.meta.versionId}"`);
      if (resource.meta.lastUpdated) reply.header('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
      if (status === 201) {
        reply.header('Location', `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`);
      }
    }
    // FHIR R4 §3.1.0.1.7 Prefer: return=minimal | representation | OperationOutcome.
    const prefer = String(request.headers.prefer ?? '');
    if (/return=minimal/.test(prefer) && method !== 'GET') return reply.code(status).send();
    if (/return=OperationOutcome/.test(prefer) && method !== 'GET') return sendOutcome(reply, status, outcome);
    return reply.code(status).type(FHIR_JSON).send(payload);
  };

  app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/', handler });
  app.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/*', handler });
}

function decorateBundle(
  bundle: Bundle,
  requestBody: Resource | undefined,
  baseUrl: string,
  path: string,
  query: URLSearchParams,
  pageSize: number,
  isSearch: boolean,
): Bundle {
  if (bundle.type === 'searchset' && isSearch) return addSearchLinks(bundle, baseUrl, path, query, pageSize);
  if (bundle.type === 'batch-response' || bundle.type === 'transaction-response') {
    const requestEntries = requestBody?.resourceType === 'Bundle' ? (requestBody.entry ?? []) : [];
    return {
      ...bundle,
      entry: bundle.entry?.map((entry, i) => {
        const response = entry.response ? { ...entry.response } : { status: '200' };
        const meta = entry.resource?.meta;
        if (meta?.versionId) response.etag = `W/"${meta.versionId}"`;
        if (meta?.lastUpdated) response.lastModified = meta.lastUpdated;
        const type = requestEntries[i]?.resource?.resourceType;
        if (response.outcome && type && !isOk(response.outcome as OperationOutcome)) {
          response.outcome = rebaseOutcome(response.outcome as OperationOutcome, type, `Bundle.entry[${i}].resource`);
        }
        const fullUrl = fullUrlOf(baseUrl, entry.resource);
        return { ...(fullUrl ? { fullUrl } : {}), ...entry, response };
      }),
    };
  }
  if (bundle.type === 'history') {
    // FHIR R4 §3.1.0.11 / Bundle bdl-3: history entries carry request and response. The
    // repository lists versions newest first, so the last entry is the create.
    const count = bundle.entry?.length ?? 0;
    return {
      ...bundle,
      entry: bundle.entry?.map((entry, i) => {
        const resource = entry.resource;
        const created = i === count - 1;
        return {
          fullUrl: fullUrlOf(baseUrl, resource),
          ...(resource && !entry.request
            ? {
                request: created
                  ? { method: 'POST' as const, url: resource.resourceType }
                  : { method: 'PUT' as const, url: `${resource.resourceType}/${resource.id}` },
                response: {
                  status: created ? '201' : '200',
                  ...(resource.meta?.versionId ? { etag: `W/"${resource.meta.versionId}"` } : {}),
                  ...(resource.meta?.lastUpdated ? { lastModified: resource.meta.lastUpdated } : {}),
                },
              }
            : {}),
          ...entry,
        };
      }),
    };
  }
  return { ...bundle, entry: bundle.entry?.map((entry) => ({ fullUrl: fullUrlOf(baseUrl, entry.resource), ...entry })) };
}

function sendOutcome(reply: FastifyReply, status: number, outcome: OperationOutcome): FastifyReply {
  return reply.code(status).type(FHIR_JSON).send(outcome);
}

function baseUrlOf(request: FastifyRequest, prefix: string): string {
  return `${request.protocol}://${request.host}${prefix}`;
}
