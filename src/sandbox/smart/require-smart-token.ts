import type { OperationOutcome } from '@medplum/fhirtypes';
import { OperationOutcomeError } from '@medplum/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { scopesPermitting, splitScopes, type RequiredAccess, type SmartPermission } from './smart-scopes.js';
import type { AccessTokenClaims } from './smart-types.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Claims of the verified SMART access token, set by `requireSmartToken`. */
    smartToken?: AccessTokenClaims;
  }
}

/** Options of {@link requireSmartToken}. */
export interface RequireSmartTokenOptions {
  verifyAccessToken(token: string): Promise<AccessTokenClaims>;
  /** Path prefix of the FHIR server, e.g. `/fhir`; request paths are read relative to it. */
  fhirPrefix: string;
  /** Realm for `WWW-Authenticate` (RFC 6750 §3). */
  realm?: string;
  /**
   * What a request needs. Defaults to {@link requiredAccessForFhirRequest}; return `undefined` for
   * requests that need only a valid token (e.g. batch/transaction, checked per entry by the server).
   */
  requiredAccess?: (request: FastifyRequest) => RequiredAccess | undefined | 'public';
  /**
   * `Patient/{id}` a stored resource belongs to (its `subject` or `patient`), for reads by id
   * under a `patient/` scope: a read of another patient's resource is then refused (SMART App
   * Launch 2 §"Scopes for requesting FHIR resources": patient-specific scopes are limited to the
   * patient in context). Without it such reads are allowed.
   */
  patientOf?: (resourceType: string, id: string) => string | undefined;
}

/**
 * Maps a FHIR RESTful request (FHIR R4 §3.1.0 http) onto a SMART v2 permission:
 * read/vread/history → `r`, search (GET type or `_search`) → `s`, create → `c`, update/patch →
 * `u`, delete → `d`. `metadata` and `.well-known` are public (FHIR R4 §3.1.0.13, SMART §Conformance).
 */
export function requiredAccessForFhirRequest(
  request: FastifyRequest,
  fhirPrefix: string,
): RequiredAccess | undefined | 'public' {
  const url = new URL(request.url, 'http://local');
  const path = url.pathname.startsWith(fhirPrefix) ? url.pathname.slice(fhirPrefix.length) : url.pathname;
  const segments = path.split('/').filter(Boolean);
  const [first, second] = segments;
  if (!first || first === 'metadata' || first === '.well-known') return first ? 'public' : undefined;
  if (!/^[A-Z][A-Za-z]+$/.test(first)) return undefined;
  const method = request.method.toUpperCase();
  let permission: SmartPermission;
  if (method === 'GET' || method === 'HEAD') permission = second === undefined ? 's' : 'r';
  else if (method === 'POST') permission = second === '_search' ? 's' : second === undefined ? 'c' : 'r';
  else if (method === 'PUT' || method === 'PATCH') permission = 'u';
  else if (method === 'DELETE') permission = 'd';
  else return undefined;
  const searchParams = new URLSearchParams(url.search);
  if (method === 'POST' && second === '_search' && request.body && typeof request.body === 'object') {
    for (const [name, value] of Object.entries(request.body as Record<string, unknown>)) {
      if (typeof value === 'string') searchParams.append(name, value);
    }
  }
  return {
    resourceType: first,
    permission,
    searchParams,
    ...(second && second !== '_search' ? { id: second } : {}),
  };
}

/**
 * Whether a `patient/` scope permits the request for the token's patient: reads of the patient
 * itself, and searches pinned to that patient (`patient=`/`subject=` or `_id=` on Patient).
 * Reads of other resources by id are checked with `patientOf` (the stored resource's patient)
 * where the server provides it.
 */
function patientScopeAllows(access: RequiredAccess, patient: string | undefined, patientOf?: RequireSmartTokenOptions['patientOf']): boolean {
  if (!patient) return false;
  const isPatient = (value: string | null) => value === patient || value === `Patient/${patient}`;
  if (access.resourceType === 'Patient') {
    if (access.permission === 's') return access.searchParams?.getAll('_id').some(isPatient) ?? false;
    return access.id === undefined || access.id === patient;
  }
  if (access.permission === 's') {
    const params = access.searchParams;
    return ['patient', 'subject', 'subject:Patient'].some((name) => params?.getAll(name).some(isPatient));
  }
  if (access.id !== undefined && patientOf) {
    const owner = patientOf(access.resourceType, access.id);
    return owner === undefined || isPatient(owner);
  }
  return true;
}

/** Outcome of checking one request's bearer token and scopes. */
export type SmartAccessDecision =
  | { ok: true; claims: AccessTokenClaims | undefined }
  | {
      ok: false;
      status: 401 | 403;
      error: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
      outcome: OperationOutcome;
    };

/**
 * Medplum's `getStatus` maps an OperationOutcome to 401/403 by its `id` (`unauthorized`,
 * `forbidden`), so the refusals carry those ids for servers built on `@medplum/fhir-router`.
 */
function refusal(
  status: 401 | 403,
  error: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  diagnostics: string,
): SmartAccessDecision {
  return {
    ok: false,
    status,
    error,
    outcome: {
      resourceType: 'OperationOutcome',
      id: status === 401 ? 'unauthorized' : 'forbidden',
      issue: [
        {
          severity: 'error',
          code: status === 401 ? 'login' : 'forbidden',
          diagnostics,
          expression: ['Authorization'],
        },
      ],
    },
  };
}

/**
 * Checks a request's bearer token (RFC 6750 §2.1) and SMART v2 scopes (v1 `.read`/`.write` too).
 * Sets `request.smartToken` when the token is valid.
 */
export async function checkSmartAccess(
  request: FastifyRequest,
  options: RequireSmartTokenOptions,
): Promise<SmartAccessDecision> {
  const prefix = withoutTrailingSlash(options.fhirPrefix);
  const access = options.requiredAccess
    ? options.requiredAccess(request)
    : requiredAccessForFhirRequest(request, prefix);
  if (access === 'public') return { ok: true, claims: undefined };
  const header = request.headers.authorization ?? '';
  const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (!match?.[1]) return refusal(401, 'invalid_request', 'a Bearer access token is required');
  let claims: AccessTokenClaims;
  try {
    claims = await options.verifyAccessToken(match[1]);
  } catch {
    return refusal(401, 'invalid_token', 'the access token is invalid or expired');
  }
  request.smartToken = claims;
  const permits = (required: RequiredAccess) =>
    scopesPermitting(splitScopes(claims.scope), required).some(
      (scope) => scope.context !== 'patient' || patientScopeAllows(required, claims.patient, options.patientOf),
    );
  if (!access) {
    // A batch/transaction Bundle POSTed to the base (FHIR R4 §3.1.0.11) is checked entry by entry,
    // as if each were its own request: otherwise a valid token of any scope would read anything
    // through a batch. One entry not permitted refuses the whole Bundle (simpler than per-entry
    // 403s; clients then fall back to single requests, each checked).
    const entries = options.requiredAccess ? [] : bundleEntryAccesses(request, prefix);
    const denied = entries.findIndex((entry) => entry === undefined || !permits(entry));
    if (denied >= 0) {
      return refusal(403, 'insufficient_scope', `the token's scopes do not permit Bundle.entry[${denied}].request`);
    }
    return { ok: true, claims };
  }
  if (!permits(access)) {
    return refusal(
      403,
      'insufficient_scope',
      `the token's scopes do not permit ${access.permission} on ${access.resourceType}`,
    );
  }
  return { ok: true, claims };
}

/** The access each entry of a batch/transaction Bundle POSTed to the base needs; `[]` for any other request. */
function bundleEntryAccesses(request: FastifyRequest, prefix: string): (RequiredAccess | undefined)[] {
  const path = new URL(request.url, 'http://local').pathname.replace(/\/+$/, '');
  const body = request.body as { resourceType?: unknown; type?: unknown; entry?: unknown } | undefined;
  if (request.method.toUpperCase() !== 'POST' || path !== prefix || body?.resourceType !== 'Bundle') return [];
  if (body.type !== 'batch' && body.type !== 'transaction') return [];
  const entries = Array.isArray(body.entry) ? (body.entry as { request?: { method?: unknown; url?: unknown }; resource?: unknown }[]) : [];
  return entries.map((entry) => {
    const method = typeof entry.request?.method === 'string' ? entry.request.method : '';
    const url = typeof entry.request?.url === 'string' ? entry.request.url.replace(/^\/+/, '') : '';
    const access = requiredAccessForFhirRequest({ method, url: `${prefix}/${url}`, body: entry.resource } as FastifyRequest, prefix);
    return access === 'public' ? undefined : access;
  });
}

/**
 * A fastify `onRequest`/`preHandler` hook enforcing SMART bearer tokens: 401 with
 * `WWW-Authenticate` (RFC 6750 §3) for a missing/invalid token, 403 for insufficient scope, both
 * with an OperationOutcome body.
 */
export function requireSmartToken(options: RequireSmartTokenOptions) {
  const realm = options.realm ?? 'fhir';
  return async function smartTokenHook(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> {
    const decision = await checkSmartAccess(request, options);
    if (decision.ok) return undefined;
    const description = decision.outcome.issue?.[0]?.diagnostics ?? '';
    await reply
      .code(decision.status)
      .header(
        'www-authenticate',
        `Bearer realm="${realm}", error="${decision.error}", error_description="${description.replace(/"/g, "'")}"`,
      )
      .type('application/fhir+json')
      .send(decision.outcome);
    return reply;
  };
}

/**
 * The same check shaped as the sandbox EHR's `authorize(request)` option: resolves when allowed,
 * throws a Medplum `OperationOutcomeError` (401 `unauthorized` / 403 `forbidden`) otherwise.
 */
export function smartAuthorizer(
  options: RequireSmartTokenOptions,
): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    const decision = await checkSmartAccess(request, options);
    if (!decision.ok) throw new OperationOutcomeError(decision.outcome);
  };
}
