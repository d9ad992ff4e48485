import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { outcome } from '../fhir/operation-outcome.js';

const FHIR_JSON = 'application/fhir+json';

/** Most bytes of a refused upload read and discarded so the client gets its 413 (issue 18.6). */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
/** Longest a refused upload is read for before the connection is closed anyway. */
const DRAIN_MAX_MS = 10_000;

/**
 * Reads and discards the rest of a refused request body, up to a bound. Fastify answers 413 with
 * `Connection: close` mid-upload; closing a socket with unread data makes the kernel send RST,
 * and a client still writing sees EPIPE/ECONNRESET instead of the OperationOutcome. A client that
 * sends more than the bound, or too slowly, is cut off (the bound is what stops abuse).
 */
function drainRequest(raw: IncomingMessage): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let read = 0;
    const finish = (): void => {
      clearTimeout(timer);
      raw.removeListener('data', onData);
      raw.removeListener('end', finish);
      raw.removeListener('error', finish);
      raw.removeListener('close', finish);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      read += chunk.length;
      if (read > DRAIN_MAX_BYTES) finish();
    };
    const timer = setTimeout(finish, DRAIN_MAX_MS);
    raw.on('data', onData);
    raw.once('end', finish);
    raw.once('error', finish);
    raw.once('close', finish);
    raw.resume();
  });
}

/**
 * Errors fastify raises before a route or the error handler is involved (router look-up), which
 * otherwise answer fastify's own JSON: a path parameter longer than `maxParamLength` (414) and a
 * URL that is not valid percent-encoding (400). Passed to the Fastify constructor.
 */
function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.status(414).type(FHIR_JSON).send(outcome('too-long', 'A path segment of the URL is longer than this server accepts'));
  } else if (error.code === 'FST_ERR_BAD_URL') {
    void reply.status(400).type(FHIR_JSON).send(outcome('structure', 'The URL is not valid (bad percent-encoding)'));
  } else {
    void reply.status(500).type(FHIR_JSON).send(outcome('exception', 'Internal server error'));
  }
}

/**
 * Errors Node's HTTP parser raises on the socket (malformed request line, headers too large,
 * request timeout): answered as OperationOutcome on the raw socket, as fastify's default handler
 * does with its own JSON (Node's `clientError` event).
 */
function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, body] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, outcome('timeout', 'The request was not received in time')]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, outcome('too-long', 'The request headers are larger than this server accepts')]
        : [400, outcome('structure', 'The request is not valid HTTP')];
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: ${FHIR_JSON}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

/** Fastify constructor options that make fastify's own early errors OperationOutcomes too. */
export function operationOutcomeServerOptions(): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> {
  return { frameworkErrors, clientErrorHandler };
}

/** The element a schema validation failure is about, and what is wrong with it. */
export interface ValidationIssue {
  /**
   * The request element: the parameter name for params, querystring and headers (as FHIR search
   * and operation parameters are named, e.g. `_count`), a FHIRPath-style path into the body
   * (`feedback[0].card`), or `$this` for the body as a whole.
   */
  expression: string;
  /** `<part> <element> <ajv message>`, e.g. `querystring limit must be <= 500`. */
  diagnostics: string;
}

/**
 * Names the element of fastify's first schema validation error (fastify "Validation and
 * Serialization": `error.validation` holds ajv's errors, `error.validationContext` the request
 * part). ajv reports a missing or unexpected property on the object that holds it, so the
 * property's name is taken from `params` to point at the element itself.
 */
export function validationIssue(error: Pick<FastifyError, 'validation' | 'validationContext'>): ValidationIssue {
  const first = error.validation?.[0];
  const part = error.validationContext ?? 'request';
  const segments = (first?.instancePath ?? '')
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = (first?.params ?? {}) as { missingProperty?: unknown; additionalProperty?: unknown };
  const named = params.missingProperty ?? params.additionalProperty;
  if (typeof named === 'string') segments.push(named);
  const path = segments.reduce((acc, s) => (/^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
  const expression = path || (part === 'body' ? '$this' : part);
  const message = first?.message ?? 'is invalid';
  return { expression, diagnostics: path ? `${part} ${path} ${message}` : `${part} ${message}` };
}

/**
 * Every error leaves the server as a FHIR OperationOutcome (Medplum's error currency): fastify's
 * own errors (body too large → 413 too-long, unsupported media type → 415, schema validation → 400
 * with the failing path) and anything unexpected (500, without internal detail).
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') await drainRequest(request.raw);
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    let body;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      body = outcome('too-long', 'Request body is larger than the configured limit');
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      body = outcome('not-supported', 'Content-Type must be application/fhir+json or application/json');
    } else if (error.validation) {
      const issue = validationIssue(error);
      body = outcome('invalid', issue.diagnostics, issue.expression);
    } else if (status === 429) {
      // @fastify/rate-limit's errorResponseBuilder error (security-plugin.ts); Retry-After is already set.
      body = outcome('throttled', error.message);
    } else if (status < 500) {
      body = outcome('invalid', error.message);
    } else {
      request.log.error({ err: { name: error.name, message: error.message, stack: error.stack } }, 'request failed');
      body = outcome('exception', 'Internal server error');
    }
    return reply.status(status).type('application/fhir+json').send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).type('application/fhir+json').send(outcome('not-found', `No route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
