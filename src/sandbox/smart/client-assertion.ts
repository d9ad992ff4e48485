import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { OAuthError } from './oauth-errors.js';
import type { RegisteredClient } from './smart-types.js';

/** `client_assertion_type` for private_key_jwt (RFC 7523 §2.2). */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Algorithms SMART App Launch 2 §Backend Services requires servers to support. */
const ALGORITHMS = ['RS384', 'ES384'];

/** Longest allowed assertion lifetime: SMART §Backend Services "exp … no more than five minutes in the future". */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/** Verifies client assertions and remembers their `jti`s until they expire, refusing replays. */
export interface ClientAssertionVerifier {
  /**
   * Authenticates a client by its JWT assertion. Returns the registered client.
   * @throws OAuthError `invalid_client` on any failure (SMART §Backend Services: "Signature
   *   verification / Validation … SHALL respond with invalid_client").
   */
  verify(assertion: string, expectedClientId: string | undefined): Promise<RegisteredClient>;
}

/** Creates a verifier for `clients`, checking `aud` against the token endpoint URL exactly. */
export function createClientAssertionVerifier(options: {
  clients: RegisteredClient[];
  tokenEndpoint: string;
  now: () => number;
}): ClientAssertionVerifier {
  const seenJtis = new Map<string, number>();
  const forgetExpired = (now: number) => {
    for (const [jti, exp] of seenJtis) if (exp < now) seenJtis.delete(jti);
  };
  return {
    async verify(assertion, expectedClientId) {
      let unverifiedIss: unknown;
      try {
        decodeProtectedHeader(assertion);
        const [, payload] = assertion.split('.');
        unverifiedIss = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()).iss;
      } catch {
        throw new OAuthError('invalid_client', 'client_assertion is not a JWT');
      }
      const clientId = typeof unverifiedIss === 'string' ? unverifiedIss : undefined;
      const client = options.clients.find((c) => c.clientId === clientId);
      if (!clientId || !client)
        throw new OAuthError('invalid_client', 'client_assertion iss is not a registered client');
      if (expectedClientId !== undefined && expectedClientId !== clientId) {
        throw new OAuthError('invalid_client', 'client_id does not match the client_assertion iss');
      }
      if (!client.jwks?.keys.length)
        throw new OAuthError('invalid_client', 'client has no registered public keys');
      const now = options.now();
      let payload;
      try {
        ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client.jwks), {
          algorithms: ALGORITHMS,
          issuer: clientId,
          subject: clientId,
          audience: options.tokenEndpoint,
          currentDate: new Date(now * 1000),
          requiredClaims: ['exp', 'jti'],
        }));
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey) {
          throw new OAuthError('invalid_client', 'no registered key matches the client_assertion kid/alg');
        }
        if (error instanceof errors.JWTExpired)
          throw new OAuthError('invalid_client', 'client_assertion has expired');
        if (error instanceof errors.JWTClaimValidationFailed) {
          throw new OAuthError(
            'invalid_client',
            `client_assertion claim "${error.claim}" is invalid: ${error.reason}`,
          );
        }
        if (error instanceof errors.JOSEAlgNotAllowed) {
          throw new OAuthError('invalid_client', 'client_assertion alg must be RS384 or ES384');
        }
        throw new OAuthError('invalid_client', 'client_assertion signature verification failed');
      }
      const exp = payload.exp as number;
      if (exp > now + MAX_ASSERTION_LIFETIME_SECONDS) {
        throw new OAuthError(
          'invalid_client',
          'client_assertion exp is more than five minutes in the future',
        );
      }
      const jti = payload.jti as string;
      forgetExpired(now);
      const key = `${clientId}\u0000${jti}`;
      if (seenJtis.has(key))
        throw new OAuthError('invalid_client', 'client_assertion jti has already been used');
      seenJtis.set(key, exp);
      return client;
    },
  };
}
