import type { Resource } from '@medplum/fhirtypes';
import type { FhirAuthorization, HookRequest } from './cds-hooks-types.js';
import type { Result } from '../../contracts/result.js';
import { invalid, isObject, type InvalidCdsInput } from './parse-result.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** FHIR R4 §2.24.0.1 id: 1–64 of [A-Za-z0-9\-\.]. */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

function parseAuthorization(value: unknown): Result<FhirAuthorization | undefined, InvalidCdsInput> {
  if (value === undefined || value === null) return { ok: true, value: undefined };
  if (!isObject(value)) return invalid('fhirAuthorization', 'must be an object');
  // CDS Hooks 2.0 §FHIR Resource Access: access_token, token_type "Bearer", expires_in, scope, subject.
  if (typeof value.access_token !== 'string' || value.access_token === '')
    return invalid('fhirAuthorization.access_token', 'is required');
  if (value.token_type !== 'Bearer') return invalid('fhirAuthorization.token_type', 'must be "Bearer"');
  if (typeof value.expires_in !== 'number') return invalid('fhirAuthorization.expires_in', 'must be a number');
  if (typeof value.scope !== 'string') return invalid('fhirAuthorization.scope', 'is required');
  if (typeof value.subject !== 'string') return invalid('fhirAuthorization.subject', 'is required');
  return {
    ok: true,
    value: {
      access_token: value.access_token,
      token_type: 'Bearer',
      expires_in: value.expires_in,
      scope: value.scope,
      subject: value.subject,
      ...(typeof value.patient === 'string' ? { patient: value.patient } : {}),
    },
  };
}

function parsePrefetch(value: unknown): Result<Record<string, Resource | null>, InvalidCdsInput> {
  if (value === undefined || value === null) return { ok: true, value: {} };
  if (!isObject(value)) return invalid('prefetch', 'must be an object');
  const out: Record<string, Resource | null> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === null) {
      out[key] = null;
      continue;
    }
    if (!isObject(item) || typeof item.resourceType !== 'string')
      return invalid(`prefetch.${key}`, 'must be a FHIR resource or null');
    out[key] = item as unknown as Resource;
  }
  return { ok: true, value: out };
}

/**
 * Parses a CDS Hooks 2.0 hook call (§HTTP Request) for `expectedHook`: `hook`, `hookInstance`
 * (a UUID), optional `fhirServer` (http/https) with `fhirAuthorization` (cds-r-1: authorization
 * needs a server), `context.patientId` (a FHIR id) and `prefetch`.
 */
export function parseHookRequest(body: unknown, expectedHook: string): Result<HookRequest, InvalidCdsInput> {
  if (!isObject(body)) return invalid('$this', 'request body must be a JSON object');
  if (body.hook !== expectedHook) return invalid('hook', `must be "${expectedHook}" for this service`);
  if (typeof body.hookInstance !== 'string' || !UUID.test(body.hookInstance))
    return invalid('hookInstance', 'must be a UUID');
  let fhirServer: string | undefined;
  if (body.fhirServer !== undefined) {
    if (typeof body.fhirServer !== 'string') return invalid('fhirServer', 'must be a URL');
    try {
      const url = new URL(body.fhirServer);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return invalid('fhirServer', 'must be http(s)');
    } catch {
      return invalid('fhirServer', 'must be a URL');
    }
    fhirServer = withoutTrailingSlash(body.fhirServer);
  }
  const authorization = parseAuthorization(body.fhirAuthorization);
  if (!authorization.ok) return authorization;
  if (authorization.value && !fhirServer) return invalid('fhirServer', 'is required with fhirAuthorization (cds-r-1)');
  if (!isObject(body.context)) return invalid('context', 'is required');
  const { patientId, userId, encounterId } = body.context;
  if (typeof patientId !== 'string' || !FHIR_ID.test(patientId)) return invalid('context.patientId', 'must be a FHIR id');
  if (userId !== undefined && typeof userId !== 'string') return invalid('context.userId', 'must be a string');
  if (encounterId !== undefined && typeof encounterId !== 'string')
    return invalid('context.encounterId', 'must be a string');
  const prefetch = parsePrefetch(body.prefetch);
  if (!prefetch.ok) return prefetch;
  return {
    ok: true,
    value: {
      hook: expectedHook,
      hookInstance: body.hookInstance,
      ...(fhirServer ? { fhirServer } : {}),
      ...(authorization.value ? { fhirAuthorization: authorization.value } : {}),
      context: {
        patientId,
        ...(typeof userId === 'string' ? { userId } : {}),
        ...(typeof encounterId === 'string' ? { encounterId } : {}),
      },
      prefetch: prefetch.value,
    },
  };
}
