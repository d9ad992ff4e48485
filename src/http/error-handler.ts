import type { FastifyError, FastifyInstance } from 'fastify';
import { outcome } from '../fhir/operation-outcome.js';

/**
 * Every error leaves the server as a FHIR OperationOutcome (Medplum's error currency): fastify's
 * own errors (body too large → 413 too-long, unsupported media type → 415, schema validation → 400
 * with the failing path) and anything unexpected (500, without internal detail).
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    let body;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      body = outcome('too-long', 'Request body is larger than the configured limit');
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      body = outcome('not-supported', 'Content-Type must be application/fhir+json or application/json');
    } else if (error.validation) {
      const first = error.validation[0];
      const path = `${error.validationContext ?? 'request'}${first?.instancePath ?? ''}`;
      body = outcome('invalid', `${path} ${first?.message ?? 'is invalid'}`, path);
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
