import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignJWT, importJWK, type CryptoKey, type JWK } from 'jose';
import type { BackendSigningAlg } from './jwks.js';
import { createRedirectGuardedFetch } from './outbound-fetch.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';

/** Options of {@link createSmartBackendAuth}. */
export interface SmartBackendAuthOptions {
  /** FHIR base URL; the token endpoint is discovered at `{fhirBaseUrl}/.well-known/smart-configuration`. */
  fhirBaseUrl: string;
  clientId: string;
  /** Private key: a jose/WebCrypto key, a Node KeyObject, or a private JWK. */
  privateKey: CryptoKey | KeyObject | JWK;
  /** `kid` of the key as registered with the authorization server (JWS header, RFC 7515 §4.1.4). */
  kid: string;
  alg: BackendSigningAlg;
  /** `system/` scopes to request, e.g. `['system/Observation.rs', 'system/RiskAssessment.c']`. */
  scopes: string[];
  fetch?: typeof fetch;
  /** Renew this many seconds before expiry (default 60). */
  renewBeforeSeconds?: number;
  /** Clock in seconds since the epoch, injectable for tests. */
  now?: () => number;
}

/** Hands out access tokens for the EHR, renewing them as needed. */
export interface SmartBackendAuth {
  /** A valid access token, cached until `renewBeforeSeconds` before its expiry. */
  getAccessToken(): Promise<string>;
  /** Drops the cached token: call after a 401 from the EHR, then fetch a new one and retry once. */
  invalidate(): void;
}

/** A refusal or failure from discovery or the token endpoint; carries the OAuth `error` when there is one. */
export class SmartBackendAuthError extends Error {
  readonly status: number | undefined;
  readonly oauthError: string | undefined;
  constructor(message: string, status?: number, oauthError?: string) {
    super(message);
    this.name = 'SmartBackendAuthError';
    this.status = status;
    this.oauthError = oauthError;
  }
}

function isJwk(key: CryptoKey | KeyObject | JWK): key is JWK {
  return typeof (key as JWK).kty === 'string';
}

/** SMART §Backend Services: assertions expire no more than five minutes out; stay under it for clock skew. */
const ASSERTION_LIFETIME_SECONDS = 240;

/**
 * SMART App Launch 2 Backend Services client (client_credentials with a `private_key_jwt`
 * assertion, RFC 7523). Discovers the token endpoint once, signs a fresh assertion per token
 * request (`iss` = `sub` = client id, `aud` = token endpoint, new `jti`, `kid` header), caches the
 * token and shares one in-flight request among concurrent callers.
 */
export function createSmartBackendAuth(options: SmartBackendAuthOptions): SmartBackendAuth {
  // Discovery and the token endpoint follow redirects only within their own origin (no SSRF, and the
  // client assertion never travels to a host a redirect names).
  const fetchImpl = createRedirectGuardedFetch({ fetch: options.fetch ?? fetch });
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const renewBefore = options.renewBeforeSeconds ?? 60;
  const base = withoutTrailingSlash(options.fhirBaseUrl);
  let tokenEndpoint: Promise<string> | undefined;
  let cached: { token: string; expiresAt: number } | undefined;
  let inFlight: Promise<string> | undefined;
  let keyPromise: Promise<CryptoKey | KeyObject | Uint8Array> | undefined;

  const signingKey = (): Promise<CryptoKey | KeyObject | Uint8Array> => {
    if (!keyPromise) {
      const key = options.privateKey;
      keyPromise = isJwk(key) ? importJWK(key, options.alg) : Promise.resolve(key);
    }
    return keyPromise;
  };

  const discover = async (): Promise<string> => {
    const url = `${base}/.well-known/smart-configuration`;
    const response = await fetchImpl(url, { headers: { accept: 'application/json' } });
    if (!response.ok)
      throw new SmartBackendAuthError(
        `SMART discovery at ${url} answered ${response.status}`,
        response.status,
      );
    const body = (await response.json()) as { token_endpoint?: unknown };
    if (typeof body.token_endpoint !== 'string') {
      throw new SmartBackendAuthError(`SMART configuration at ${url} has no token_endpoint`);
    }
    return body.token_endpoint;
  };

  const requestToken = async (): Promise<string> => {
    tokenEndpoint ??= discover().catch((error: unknown) => {
      tokenEndpoint = undefined; // retry discovery next time
      throw error;
    });
    const endpoint = await tokenEndpoint;
    const issuedAt = now();
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: options.alg, kid: options.kid, typ: 'JWT' })
      .setIssuer(options.clientId)
      .setSubject(options.clientId)
      .setAudience(endpoint)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ASSERTION_LIFETIME_SECONDS)
      .setJti(randomUUID())
      .sign(await signingKey());
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      scope: options.scopes.join(' '),
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    const response = await fetchImpl(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      const error = typeof body.error === 'string' ? body.error : undefined;
      const description = typeof body.error_description === 'string' ? `: ${body.error_description}` : '';
      throw new SmartBackendAuthError(
        `token endpoint refused the request (${response.status} ${error ?? 'error'}${description})`,
        response.status,
        error,
      );
    }
    if (
      typeof body.access_token !== 'string' ||
      typeof body.token_type !== 'string' ||
      body.token_type.toLowerCase() !== 'bearer'
    ) {
      throw new SmartBackendAuthError(
        'token response lacks a Bearer access_token (RFC 6749 §5.1)',
        response.status,
      );
    }
    // RFC 6749 §5.1: expires_in is RECOMMENDED; without it assume the SMART-suggested 5 minutes.
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300;
    cached = { token: body.access_token, expiresAt: issuedAt + expiresIn };
    return body.access_token;
  };

  return {
    async getAccessToken() {
      if (cached && now() < cached.expiresAt - renewBefore) return cached.token;
      inFlight ??= requestToken().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
