import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/config-schema.js';
import { createOperatorGuard } from './operator-access.js';

/** Options of {@link securityPlugin}. */
export interface SecurityPluginOptions {
  /** Requests per client IP per window before 429. */
  rateLimitMax: number;
  /** Rate-limit window, ms. */
  rateLimitWindowMs: number;
  /** Bearer token of the operator page; undefined restricts it to loopback callers. */
  operatorToken: string | undefined;
  /** Origins allowed to frame this server's pages, the SMART review app above all (CSP `frame-ancestors`). */
  frameAncestors: readonly string[];
}

/** The package version (src/ and dist/ both sit one level below the repository root). */
function packageVersion(): string {
  const parsed: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = (parsed as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0.0.0';
}

/** Maps the configuration to {@link SecurityPluginOptions}. */
export function securityOptions(config: Config): SecurityPluginOptions {
  return {
    rateLimitMax: config.RATE_LIMIT_MAX,
    rateLimitWindowMs: config.RATE_LIMIT_WINDOW_MS,
    operatorToken: config.OPERATOR_TOKEN,
    frameAncestors: config.REVIEW_FRAME_ANCESTORS,
  };
}

/** Probes scraped by the orchestrator every few seconds; limiting them would flap readiness. */
const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * HTTP hardening, registered before every route so its hooks and the OpenAPI collector see them:
 * helmet headers, a per-client rate limit, the operator-page guard, and the OpenAPI 3 document of
 * every route at `GET /openapi.json`. Wrapped with fastify-plugin so hooks apply server-wide.
 */
async function security(app: FastifyInstance, options: SecurityPluginOptions): Promise<void> {
  const origins = options.frameAncestors.map((url) => new URL(url).origin);
  await app.register(helmet, {
    // SMART App Launch 2 apps are commonly embedded in the EHR's frame; allow exactly the
    // configured origins (REVIEW_FRAME_ANCESTORS; CSP Level 2 `frame-ancestors`), so X-Frame-Options is left off.
    frameguard: false,
    contentSecurityPolicy: {
      directives: { 'frame-ancestors': ["'self'", ...origins] },
    },
  });
  await app.register(rateLimit, {
    max: options.rateLimitMax,
    timeWindow: options.rateLimitWindowMs,
    // Key by the socket peer (not X-Forwarded-For, which callers control).
    keyGenerator: (request) => request.socket.remoteAddress ?? 'unknown',
    allowList: (request) => UNLIMITED.has(request.url.split('?')[0] ?? ''),
    errorResponseBuilder: (_request, context) => {
      const error = new Error(`Rate limit exceeded: ${context.max} requests per ${context.after}; retry later`) as Error & {
        statusCode: number;
      };
      error.statusCode = context.statusCode;
      return error;
    },
  });
  app.addHook('onRequest', createOperatorGuard(options.operatorToken));
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'fhir-fusion',
        description: 'Subscription intake, health, metrics, operator page, SMART review app and CDS Hooks services of fhir-fusion.',
        version: packageVersion(),
      },
      components: {
        securitySchemes: {
          operatorBearer: { type: 'http', scheme: 'bearer', description: 'OPERATOR_TOKEN (operator page).' },
          subscriptionSignature: { type: 'apiKey', in: 'header', name: 'x-signature', description: 'HMAC-SHA256 of the notification body.' },
        },
      },
    },
  });
  const openapiSchema = { hide: true, response: { 200: { type: 'object', additionalProperties: true, description: 'OpenAPI 3.0 document.' } } };
  app.get('/openapi.json', { schema: openapiSchema }, async () => app.swagger());
}

/** The hardening plugin; register it in the root plugin before any route. */
export const securityPlugin = fp(security, { name: 'fhir-fusion-security', fastify: '5.x' });
