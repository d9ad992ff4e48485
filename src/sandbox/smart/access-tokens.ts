import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, type CryptoKey, type JWK } from 'jose';
import type { AccessTokenClaims } from './smart-types.js';

/** Issues and verifies the sandbox's access tokens and id_tokens with one ES256 key made at start. */
export interface AccessTokenService {
  /** Signs an access token for `claims` (iat, exp, jti and iss/aud are filled in). */
  issue(
    claims: Omit<AccessTokenClaims, 'iss' | 'aud' | 'iat' | 'exp' | 'jti'>,
    lifetimeSeconds: number,
  ): Promise<string>;
  /** Signs an OpenID Connect id_token (OIDC Core §2) for the client. */
  issueIdToken(
    claims: { sub: string; aud: string; fhirUser?: string },
    lifetimeSeconds: number,
  ): Promise<string>;
  /**
   * Verifies signature, `iss`, `aud` (the FHIR base) and `exp`; returns the claims.
   * @throws Error when the token is not one of ours or has expired.
   */
  verify(token: string): Promise<AccessTokenClaims>;
  /** The public signing key as a JWK Set (served at the `jwks_uri`). */
  publicJwks(): { keys: JWK[] };
}

/** Creates the service with a freshly generated ES256 key pair (RFC 7518 §3.4). */
export async function createAccessTokenService(options: {
  issuer: string;
  now: () => number;
}): Promise<AccessTokenService> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const sign = (payload: Record<string, unknown>, lifetimeSeconds: number, key: CryptoKey = privateKey) => {
    const now = options.now();
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(options.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(key);
  };
  return {
    issue(claims, lifetimeSeconds) {
      return sign({ ...claims, aud: options.issuer }, lifetimeSeconds);
    },
    issueIdToken(claims, lifetimeSeconds) {
      return sign({ ...claims }, lifetimeSeconds);
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, publicKey, {
        issuer: options.issuer,
        audience: options.issuer,
        algorithms: ['ES256'],
        currentDate: new Date(options.now() * 1000),
      });
      if (
        typeof payload.scope !== 'string' ||
        typeof payload.client_id !== 'string' ||
        typeof payload.sub !== 'string'
      ) {
        throw new Error('access token lacks scope, client_id or sub');
      }
      return payload as unknown as AccessTokenClaims;
    },
    publicJwks() {
      return { keys: [publicJwk] };
    },
  };
}
