/**
 * JSON Schemas shared by the route declarations (fastify "Validation and Serialization": a
 * route's `schema.response` both documents the answer in `/openapi.json` and, for object
 * payloads, compiles the serializer that writes it).
 *
 * FHIR resources are described loosely on purpose: `additionalProperties: true` so fastify's
 * serializer (fast-json-stringify) writes every element the handler put in the resource, only
 * `resourceType` being named. A strict schema here would silently drop elements a later change
 * adds. String payloads (HTML, Markdown, CSS, Prometheus text) and buffers (PNG) are sent as they
 * are: their schemas name the media type and say "string".
 */

/** A FHIR R4 resource of the given type(s), every element passed through (FHIR R4 §2.6.2 JSON). */
export function fhirResourceSchema(resourceType: string | readonly string[], description: string) {
  const types = typeof resourceType === 'string' ? [resourceType] : [...resourceType];
  return {
    description,
    type: 'object',
    required: ['resourceType'],
    properties: { resourceType: { type: 'string', enum: types } },
    additionalProperties: true,
  } as const;
}

/** An OperationOutcome (FHIR R4 §3.1.0.5): the body of every error and of intake's answers. */
export const operationOutcomeSchema = {
  ...fhirResourceSchema(
    'OperationOutcome',
    'FHIR OperationOutcome; issue[].expression names the offending element.',
  ),
  required: ['resourceType', 'issue'],
  properties: { resourceType: { type: 'string', enum: ['OperationOutcome'] }, issue: { type: 'array' } },
} as const;

/** 4xx and 5xx answers of a FHIR/JSON route: OperationOutcome (see `installErrorHandlers`). */
export const errorResponses = { '4xx': operationOutcomeSchema, '5xx': operationOutcomeSchema } as const;

/** A response whose body is text (or bytes) of one media type, e.g. `text/html`. */
export function textResponse(mediaType: string, description: string, format?: 'binary') {
  return {
    description,
    content: { [mediaType]: { schema: format ? { type: 'string', format } : { type: 'string' } } },
  } as const;
}

/** A redirect (RFC 9110 §15.4): no body, the target in `Location`. */
export function redirectResponse(description: string) {
  return { description, type: 'null' } as const;
}

/** A JSON object with every property passed through (CDS Hooks cards, the OpenAPI document). */
export function looseObjectSchema(description: string) {
  return { description, type: 'object', additionalProperties: true } as const;
}

/**
 * A request body the handler parses itself, after authenticating the caller, into a typed result
 * whose OperationOutcome names the exact element (CONTRIBUTING: parsers return typed results). The
 * schema documents it and accepts any JSON, so the order "authenticate, then validate" and the
 * parser's element paths stay as they are.
 */
export function parsedBodySchema(description: string) {
  return { description } as const;
}
