import { stdSerializers } from 'pino';
import { redactPatientData } from './redact-patient-data.js';

/** The parts of an incoming HTTP request (Node or fastify) the request serializer reads. */
export interface LoggableRequest {
  id?: unknown;
  method?: string;
  url?: string;
  routeOptions?: { url?: string };
  headers?: Record<string, unknown>;
}

/** The parts of a reply the response serializer reads. */
export interface LoggableReply {
  statusCode?: number;
}

/**
 * Request line without its query string: FHIR search parameters carry patient data
 * (`?patient=…&birthdate=…`, FHIR R4 §3.1.1), so only the path and the route pattern are logged.
 * Bodies and headers are never logged.
 */
export function serializeRequest(request: LoggableRequest): Record<string, unknown> {
  const url = typeof request.url === 'string' ? request.url : undefined;
  const queryAt = url?.indexOf('?') ?? -1;
  const userAgent = request.headers?.['user-agent'];
  return {
    id: request.id,
    method: request.method,
    route: request.routeOptions?.url,
    path: url === undefined ? undefined : queryAt >= 0 ? url.slice(0, queryAt) : url,
    query: queryAt >= 0 ? '[Redacted]' : undefined,
    userAgent: typeof userAgent === 'string' ? userAgent : undefined,
  };
}

/** Status code only; reply bodies are never logged. */
export function serializeReply(reply: LoggableReply): Record<string, unknown> {
  return { statusCode: reply.statusCode };
}

/**
 * pino's error serializer, then redaction: driver errors copy row values into their own fields
 * (pg's `detail`: `Key (id)=(…) already exists`).
 */
export function serializeError(error: Error | string): Record<string, unknown> | string {
  // `error` is also logged with a plain string (an OperationOutcome summary, a subscription's
  // last error): spreading a string would write one JSON field per character (issue 18.6).
  if (typeof error !== 'object' || error === null) return error;
  // Spread to a plain object: the serializer's result has pino's own prototype, which the redaction
  // (plain objects only) would otherwise pass over.
  return redactPatientData({ ...stdSerializers.err(error) } as Record<string, unknown>);
}

/** Serializers for the keys fastify logs with (`req`, `res`, `err`) and their long forms. */
export const logSerializers = {
  req: serializeRequest,
  request: serializeRequest,
  res: serializeReply,
  reply: serializeReply,
  err: serializeError,
  error: serializeError,
};
