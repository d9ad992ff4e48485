import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config-schema.js';
import { loadSigningKeys, type SigningKeySet } from './jwks.js';
import type { FetchLike } from '../contracts/fetch-like.js';
import { createSmartBackendAuth, type SmartBackendAuth } from './smart-backend-client.js';

/** What `createEhrFetch` needs to put credentials on EHR requests. */
export interface EhrRequestAuth {
  /** Sets `Authorization: Bearer …` on an outgoing FHIR request. */
  authorize(headers: Headers): Promise<void>;
  /** Drops the cached token after a 401 so the retry gets a fresh one. */
  onUnauthorized(): void;
}

/** The EHR auth built from config: request auth plus the signing keys to publish. */
export interface EhrAuth {
  request: EhrRequestAuth;
  /** Present with `FHIR_AUTH=smart-backend-services`: every key, the newest signs. */
  keys: SigningKeySet;
  /** The Backend Services token source (exposed for health checks and tests). */
  tokens: SmartBackendAuth;
}

/**
 * Builds the EHR auth for `createEhrFetch` from config. With `FHIR_AUTH=smart-backend-services`
 * (SMART App Launch 2 §Backend Services) it loads `SMART_PREVIOUS_PRIVATE_KEY_FILE` (if set) and
 * `SMART_PRIVATE_KEY_FILE`, oldest first: the newest signs client assertions, both are published,
 * so an EHR that cached the old key keeps verifying during rotation. Other modes need no keys and
 * return `undefined` (`createEhrFetch` handles `bearer` itself).
 *
 * `fetch` is used for discovery and the token endpoint, which may live on another host than the
 * FHIR base (SMART §Conformance: the token endpoint is discovered, not assumed).
 */
export async function createEhrAuth(config: Config, fetchImpl?: FetchLike): Promise<EhrAuth | undefined> {
  if (config.FHIR_AUTH !== 'smart-backend-services') return undefined;
  if (!config.SMART_CLIENT_ID || !config.SMART_PRIVATE_KEY_FILE) {
    // The config's cross-field rules already refuse this; keep the type narrowing honest.
    throw new Error('FHIR_AUTH=smart-backend-services needs SMART_CLIENT_ID and SMART_PRIVATE_KEY_FILE');
  }
  const files = [config.SMART_PREVIOUS_PRIVATE_KEY_FILE, config.SMART_PRIVATE_KEY_FILE].filter(
    (file): file is string => typeof file === 'string',
  );
  const keys = await loadSigningKeys(files);
  const tokens = createSmartBackendAuth({
    fhirBaseUrl: config.FHIR_BASE_URL,
    clientId: config.SMART_CLIENT_ID,
    privateKey: keys.current.key,
    kid: keys.current.kid,
    alg: keys.current.alg,
    scopes: config.SMART_SCOPES.split(' '),
    ...(fetchImpl ? { fetch: fetchImpl as typeof fetch } : {}),
  });
  return {
    keys,
    tokens,
    request: {
      async authorize(headers) {
        headers.set('authorization', `Bearer ${await tokens.getAccessToken()}`);
      },
      onUnauthorized: () => tokens.invalidate(),
    },
  };
}

/** Options of {@link jwksRoute}. */
export interface JwksRouteOptions {
  /** The published key set; `undefined` publishes an empty set (no Backend Services configured). */
  keys: SigningKeySet | undefined;
}

/**
 * `GET /.well-known/jwks.json`: the public keys the EHR registers (by URL) to verify this server's
 * client assertions (SMART §Backend Services "Registering a client": JWK Set URL; RFC 7517 §5).
 * Public keys only; cached for an hour so rotation is picked up the same day.
 */
export async function jwksRoute(app: FastifyInstance, options: JwksRouteOptions): Promise<void> {
  const body = options.keys?.publicJwks() ?? { keys: [] };
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            required: ['keys'],
            properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } },
          },
        },
      },
    },
    async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=3600').type('application/json').send(body),
  );
}
