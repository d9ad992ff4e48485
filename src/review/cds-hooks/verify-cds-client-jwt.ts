import type { OperationOutcome } from '@medplum/fhirtypes';
import { createRemoteJWKSet, customFetch, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { outcome } from '../../fhir/operation-outcome.js';
import { err, type Result } from '../../contracts/result.js';
import type { FetchLike } from '../../contracts/fetch-like.js';
import { createRedirectGuardedFetch } from '../../fhir/outbound-fetch.js';
import type { JtiReplayStore } from '../../store/jti-replay-repository.js';

/** A CDS client that passed authentication. */
export interface CdsClientIdentity {
  iss: string;
  sub?: string;
  tenant?: string;
}

/** Verification result; failures carry a 401 OperationOutcome naming the offending element. */
export type CdsAuthResult = Result<CdsClientIdentity, { issue: OperationOutcome }>;

/** Verifies the bearer JWT of one CDS Hooks call. */
export type CdsClientJwtVerifier = (authorization: string | undefined, audiences: readonly string[]) => Promise<CdsAuthResult>;

/** CDS Hooks 2.0 §Trusting CDS Clients: services SHALL support ES384 and RS384. */
const ALGORITHMS = ['ES384', 'RS384'];

function refused(diagnostics: string, expression: string): CdsAuthResult {
  return err({ issue: outcome('login', diagnostics, expression) });
}

/**
 * Builds the verifier of CDS client JWTs (CDS Hooks 2.0 §Trusting CDS Clients): `Authorization:
 * Bearer <JWT>` signed ES384/RS384 with a key from the client's JWKS; `iss` must be in the
 * allow-list (`clients`: iss → JWKS URL); a `jku` header, when present, must be that same URL
 * (the spec requires jku to be checked against trusted URLs); `aud` one of the service URLs;
 * `exp`, `iat` and `jti` required; iat no older than 5 minutes; a `jti` seen before is a replay.
 */
export function createCdsClientJwtVerifier(options: {
  clients: Readonly<Record<string, string>>;
  replay: JtiReplayStore;
  fetch?: FetchLike;
  /** Clock skew tolerated on exp/iat, in seconds. */
  clockToleranceS?: number;
}): CdsClientJwtVerifier {
  const keySets = new Map<string, JWTVerifyGetKey>();
  function keySet(iss: string, url: string): JWTVerifyGetKey {
    let set = keySets.get(iss);
    if (!set) {
      // jose asks for `redirect: 'manual'`; the guard follows same-origin hops only, so a JWKS host
      // cannot bounce this server to another one (SSRF through redirects).
      set = createRemoteJWKSet(new URL(url), { [customFetch]: createRedirectGuardedFetch({ fetch: options.fetch ?? fetch }) });
      keySets.set(iss, set);
    }
    return set;
  }
  return async (authorization, audiences) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) return refused('A signed JWT is required (Authorization: Bearer <JWT>)', 'Authorization');
    const token = match[1];
    let iss: string | undefined;
    let jku: string | undefined;
    try {
      iss = decodeJwt(token).iss;
      jku = decodeProtectedHeader(token).jku;
    } catch {
      return refused('The bearer token is not a JWT', 'Authorization');
    }
    const jwksUrl = iss ? options.clients[iss] : undefined;
    if (!iss || !jwksUrl) return refused('The JWT issuer is not an allowed CDS client', 'iss');
    if (jku !== undefined && jku !== jwksUrl) return refused('The JWT jku is not the JWKS URL registered for this issuer', 'jku');
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keySet(iss, jwksUrl), {
        issuer: iss,
        audience: [...audiences],
        algorithms: ALGORITHMS,
        maxTokenAge: '5m',
        clockTolerance: options.clockToleranceS ?? 30,
        requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
      }));
    } catch (err) {
      if (err instanceof errors.JWTClaimValidationFailed) return refused(`JWT claim ${err.claim} is invalid: ${err.reason}`, err.claim);
      // jose reports both a past `exp` and an `iat` older than maxTokenAge as JWTExpired; `claim`
      // says which one failed, so the refusal names it (OperationOutcome.issue.expression).
      if (err instanceof errors.JWTExpired) {
        return err.claim === 'iat'
          ? refused('The JWT was issued too long ago: iat is more than 5 minutes in the past', 'iat')
          : refused('The JWT has expired', 'exp');
      }
      if (err instanceof errors.JOSEAlgNotAllowed) return refused('The JWT must be signed ES384 or RS384', 'alg');
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWSSignatureVerificationFailed)
        return refused('The JWT signature does not verify with the client JWKS', 'Authorization');
      return refused('The JWT could not be verified', 'Authorization');
    }
    const jti = payload.jti ?? '';
    const expiresAt = new Date(((payload.exp ?? 0) + (options.clockToleranceS ?? 30)) * 1000);
    if (!(await options.replay.remember(iss, jti, expiresAt))) return refused('The JWT jti was already used (replay)', 'jti');
    return {
      ok: true,
      value: {
        iss,
        ...(payload.sub ? { sub: payload.sub } : {}),
        ...(typeof payload.tenant === 'string' ? { tenant: payload.tenant } : {}),
      },
    };
  };
}
