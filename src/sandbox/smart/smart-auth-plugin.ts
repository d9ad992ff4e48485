import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { renderConsentPage } from './consent-page.js';
import { OAuthError, sendOAuthError } from './oauth-errors.js';
import {
  createSmartAuthServer,
  type AuthorizeOutcome,
  type AuthorizeParams,
  type SmartAuthServer,
} from './smart-auth-server.js';
import type { SmartAuthOptions } from './smart-types.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The sandbox SMART authorization server registered by `smartAuthPlugin`. */
    smartAuth: SmartAuthServer;
  }
}

/** Options of {@link smartAuthPlugin}: the server's options, or a server made with `createSmartAuthServer`. */
export type SmartAuthPluginOptions = SmartAuthOptions & { server?: SmartAuthServer };

const FORM_FIELDS = [
  'grant_type',
  'code',
  'redirect_uri',
  'client_id',
  'code_verifier',
  'client_assertion_type',
  'client_assertion',
  'scope',
  'refresh_token',
];

function stringFields(source: unknown, names: string[]): Record<string, string | undefined> {
  const record = (source ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    names.map((name) => [name, typeof record[name] === 'string' ? (record[name] as string) : undefined]),
  );
}

/** Every field a string: repeated parameters are refused (RFC 6749 §3.1, §3.2: "MUST NOT be included more than once"). */
function stringFieldsSchema(names: string[]) {
  return {
    type: 'object',
    properties: Object.fromEntries(names.map((name) => [name, { type: 'string' }])),
  } as const;
}

const AUTHORIZE_FIELDS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'aud',
  'launch',
  'code_challenge',
  'code_challenge_method',
  'patient',
];

/**
 * The sandbox SMART App Launch 2 authorization server as a fastify plugin: the SMART configuration
 * at `{fhirPrefix}/.well-known/smart-configuration`, and `{authPrefix}/authorize`, `/token`,
 * `/jwks`. Decorates the app with `smartAuth` (create launches, verify tokens, build the
 * `requireSmartToken` hook). Register it without a prefix: it mounts its own paths.
 */
export const smartAuthPlugin: FastifyPluginAsync<SmartAuthPluginOptions> = fp(
  async (app: FastifyInstance, options: SmartAuthPluginOptions) => {
    const server = options.server ?? (await createSmartAuthServer(options));
    app.decorate('smartAuth', server);
    const fhirPrefix = withoutTrailingSlash(server.options.fhirPrefix);
    const authPrefix = withoutTrailingSlash(server.options.authPrefix ?? '/auth');

    // Routes live in a child scope so the form parser stays inside it.
    await app.register(async (scope) => {
      await scope.register(formbody);
      scope.setErrorHandler((error: FastifyError, _request, reply) => {
        if (error.validation) {
          const field = String(error.validation[0]?.instancePath ?? '').replace(/^\//, '');
          return sendOAuthError(
            reply,
            new OAuthError('invalid_request', `parameter ${field || '(body)'} is malformed or repeated`),
          );
        }
        if (error.statusCode && error.statusCode < 500)
          return sendOAuthError(reply, new OAuthError('invalid_request', error.message));
        return reply.code(500).send({ error: 'server_error', error_description: 'internal error' });
      });
      const authorizeSchema = { querystring: stringFieldsSchema(AUTHORIZE_FIELDS) };

      scope.get(`${fhirPrefix}/.well-known/smart-configuration`, async (_request, reply) =>
        reply.header('cache-control', 'public, max-age=300').send(server.smartConfiguration()),
      );
      scope.get(`${authPrefix}/jwks`, async (_request, reply) => reply.send(server.publicJwks()));
      // RFC 7662 §2.1: POST token=...; the caller authenticates with a bearer token of its own.
      scope.post(`${authPrefix}/introspect`, { schema: { body: stringFieldsSchema(['token', 'token_type_hint']) } }, async (request, reply) => {
        const caller = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
        const token = stringFields(request.body, ['token']).token;
        const answer = caller ? await server.introspect(token ?? '', caller) : undefined;
        if (!answer) {
          return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send({ error: 'invalid_client', error_description: 'introspection needs a confidential client token' });
        }
        return reply.header('cache-control', 'no-store').send(answer);
      });

      const answer = (reply: FastifyReply, outcome: AuthorizeOutcome) => {
        switch (outcome.kind) {
          case 'error-page':
            return reply
              .code(outcome.status)
              .type('text/plain; charset=utf-8')
              .send(`Authorization request refused: ${outcome.message}`);
          case 'redirect':
            return reply.redirect(outcome.location, 302);
          case 'consent':
            return reply
              .type('text/html; charset=utf-8')
              .header('cache-control', 'no-store')
              .send(
                renderConsentPage({
                  decisionUrl: `${authPrefix}/authorize/decision`,
                  requestId: outcome.requestId,
                  pending: outcome.pending,
                  patients: server.options.patients ?? [],
                }),
              );
        }
      };
      scope.get(`${authPrefix}/authorize`, { schema: authorizeSchema }, async (request, reply) =>
        answer(reply, server.authorize(stringFields(request.query, AUTHORIZE_FIELDS) as AuthorizeParams)),
      );
      // SMART 2 capability `authorize-post`: the same request as a form POST.
      scope.post(
        `${authPrefix}/authorize`,
        { schema: { body: stringFieldsSchema(AUTHORIZE_FIELDS) } },
        async (request, reply) =>
          answer(reply, server.authorize(stringFields(request.body, AUTHORIZE_FIELDS) as AuthorizeParams)),
      );
      scope.post(
        `${authPrefix}/authorize/decision`,
        { schema: { body: stringFieldsSchema(['request_id', 'decision', 'patient']) } },
        async (request, reply) => {
          const form = stringFields(request.body, ['request_id', 'decision', 'patient']);
          return answer(
            reply,
            server.decide(form.request_id ?? '', {
              approve: form.decision === 'approve',
              ...(form.patient ? { patient: form.patient } : {}),
            }),
          );
        },
      );
      scope.post(
        `${authPrefix}/token`,
        { schema: { body: stringFieldsSchema(FORM_FIELDS) } },
        async (request, reply) => {
          // RFC 6749 §3.2: the token endpoint takes application/x-www-form-urlencoded only.
          const contentType = request.headers['content-type'] ?? '';
          if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
            return sendOAuthError(
              reply,
              new OAuthError(
                'invalid_request',
                'the token request must be application/x-www-form-urlencoded',
              ),
            );
          }
          try {
            const response = await server.token(stringFields(request.body, FORM_FIELDS));
            request.log.info({ scopeCount: response.scope.split(' ').length }, 'SMART token issued');
            return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(response);
          } catch (error) {
            if (error instanceof OAuthError) {
              request.log.info({ error: error.code }, 'SMART token request refused');
              return sendOAuthError(reply, error);
            }
            throw error;
          }
        },
      );
    });
  },
  { name: 'smart-auth', fastify: '5.x' },
);
