import { createHash } from 'node:crypto';
import type { FetchLike } from '../contracts/fetch-like.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';

/** What fhir-fusion knows about a caller's bearer token once it has checked it. */
export type CallerAuthorization =
  | { active: false }
  | {
      active: true;
      /** Granted scopes (SMART App Launch 2 §Scopes), split. */
      scopes: string[];
      /** The patient in context (SMART launch context `patient`), when there is one. */
      patient?: string;
      clientId?: string;
    };

/** Checks a caller's bearer token; never throws for a bad token (that is `active: false`). */
export type CallerTokenVerifier = (token: string) => Promise<CallerAuthorization>;

/** The EHR offers no way to check tokens, or could not be asked: the caller is not at fault (503). */
export class TokenVerificationUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenVerificationUnavailableError';
  }
}

/**
 * Verifies callers' tokens with the EHR's OAuth 2.0 token introspection endpoint (RFC 7662;
 * SMART App Launch 2 §Token Introspection), discovered from `{fhirBaseUrl}/.well-known/smart-configuration`
 * (`introspection_endpoint`). `fetch` is the EHR fetch carrying fhir-fusion's own credentials, since
 * the endpoint must be protected (RFC 7662 §2.1). Active answers are cached by a hash of the token
 * for at most `cacheSeconds` and never past `exp`, so a revoked token stops working within that bound.
 */
export function createIntrospectionVerifier(options: {
  fhirBaseUrl: string;
  fetch: FetchLike;
  cacheSeconds?: number;
  now?: () => number;
}): CallerTokenVerifier {
  const now = options.now ?? (() => Date.now() / 1000);
  const cacheSeconds = options.cacheSeconds ?? 30;
  const cache = new Map<string, { value: CallerAuthorization; until: number }>();
  let endpoint: Promise<string> | undefined;

  const discover = async (): Promise<string> => {
    const url = `${withoutTrailingSlash(options.fhirBaseUrl)}/.well-known/smart-configuration`;
    const response = await options.fetch(url, { headers: { accept: 'application/json' } });
    if (!response.ok) throw new TokenVerificationUnavailableError(`SMART configuration answered ${response.status}`);
    const body = (await response.json().catch(() => ({}))) as { introspection_endpoint?: unknown };
    if (typeof body.introspection_endpoint !== 'string') {
      throw new TokenVerificationUnavailableError('the EHR advertises no introspection_endpoint');
    }
    return body.introspection_endpoint;
  };

  return async (token) => {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.value;
    endpoint ??= discover().catch((error: unknown) => {
      endpoint = undefined;
      throw error instanceof TokenVerificationUnavailableError ? error : new TokenVerificationUnavailableError((error as Error).message);
    });
    const url = await endpoint;
    let response: Response;
    try {
      response = await options.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      });
    } catch (error) {
      throw new TokenVerificationUnavailableError(`introspection failed: ${(error as Error).name}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new TokenVerificationUnavailableError(`introspection endpoint answered ${response.status}`);
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    // RFC 7662 §2.2: `active` is the only required member; anything but `true` is inactive.
    if (body.active !== true) return { active: false };
    const exp = typeof body.exp === 'number' ? body.exp : undefined;
    if (exp !== undefined && exp <= now()) return { active: false };
    const value: CallerAuthorization = {
      active: true,
      scopes: typeof body.scope === 'string' ? body.scope.split(/\s+/).filter(Boolean) : [],
      ...(typeof body.patient === 'string' && body.patient !== '' ? { patient: body.patient } : {}),
      ...(typeof body.client_id === 'string' ? { clientId: body.client_id } : {}),
    };
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { value, until: Math.min(now() + cacheSeconds, exp ?? Infinity) });
    return value;
  };
}

/** Whether the caller may read `resourceType`, and for which patients. */
export type ReadGrant = { kind: 'none' } | { kind: 'patient'; patient: string | undefined } | { kind: 'any' };

/**
 * Which read access the scopes grant on `resourceType` (SMART App Launch 2 §Scopes for requesting
 * FHIR resources): v2 `context/Type.cruds` with `r` (or `s` for search) among the permissions, and
 * v1 `context/Type.read|*`; `Type` may be `*`. `user/` and `system/` scopes read any patient (the
 * EHR still applies the user's own rights on each read); `patient/` scopes only the patient in
 * context.
 */
export function readGrant(scopes: readonly string[], resourceType: string, patient: string | undefined): ReadGrant {
  let grant: ReadGrant = { kind: 'none' };
  for (const scope of scopes) {
    const match = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.(\*|read|write|c?r?u?d?s?)(\?.*)?$/.exec(scope);
    if (!match) continue;
    const [, context, type, permissions, query] = match;
    if (type !== '*' && type !== resourceType) continue;
    // A v2 scope with a query (`?category=...`) grants only part of the type: not enough here.
    if (query) continue;
    const reads = permissions === '*' || permissions === 'read' || (permissions !== 'write' && permissions!.includes('r'));
    if (!reads) continue;
    if (context === 'patient') {
      if (grant.kind === 'none') grant = { kind: 'patient', patient };
    } else {
      return { kind: 'any' };
    }
  }
  return grant;
}
