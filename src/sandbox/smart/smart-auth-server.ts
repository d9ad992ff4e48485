import { createAccessTokenService, type AccessTokenService } from './access-tokens.js';
import {
  createAuthorizationState,
  type AuthorizationState,
  type PendingAuthorization,
} from './authorization-state.js';
import {
  createClientAssertionVerifier,
  JWT_BEARER_ASSERTION_TYPE,
  type ClientAssertionVerifier,
} from './client-assertion.js';
import { OAuthError } from './oauth-errors.js';
import { verifyS256 } from './pkce.js';
import { buildSmartConfiguration, type SmartConfiguration } from './smart-configuration.js';
import { grantableScopes, parseResourceScope, splitScopes } from './smart-scopes.js';
import type { AccessTokenClaims, LaunchContext, RegisteredClient, SmartAuthOptions } from './smart-types.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/** Parameters of an authorization request (RFC 6749 §4.1.1 + SMART App Launch 2 §"Obtain authorization code"). */
export type AuthorizeParams = Partial<
  Record<
    | 'response_type'
    | 'client_id'
    | 'redirect_uri'
    | 'scope'
    | 'state'
    | 'aud'
    | 'launch'
    | 'code_challenge'
    | 'code_challenge_method'
    | 'patient',
    string
  >
>;

/** What the authorize endpoint does next. */
export type AuthorizeOutcome =
  /** The client or redirect URI is not trustworthy: show the error, never redirect (RFC 6749 §4.1.2.1). */
  | { kind: 'error-page'; status: number; message: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'consent'; requestId: string; pending: PendingAuthorization };

/** The token endpoint's success body (RFC 6749 §5.1 + SMART launch context). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  patient?: string;
  encounter?: string;
  need_patient_banner?: boolean;
  id_token?: string;
  refresh_token?: string;
}

/** The sandbox SMART authorization server: state, keys and the protocol logic the routes call. */
export interface SmartAuthServer {
  readonly options: SmartAuthOptions;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly introspectionEndpoint: string;
  /**
   * RFC 7662 §2: introspects `token` for a caller authenticated with `callerToken` (an access
   * token of a confidential client: SMART App Launch 2 §Token Introspection requires the
   * endpoint to be protected). Undefined when the caller may not introspect.
   */
  introspect(token: string, callerToken: string): Promise<Record<string, unknown> | undefined>;
  /** Registers an EHR launch context and returns the opaque `launch` id (SMART §EHR Launch). */
  createLaunch(context: LaunchContext): string;
  /** Verifies an access token issued here. @throws Error when invalid or expired. */
  verifyAccessToken(token: string): Promise<AccessTokenClaims>;
  smartConfiguration(): SmartConfiguration;
  publicJwks(): ReturnType<AccessTokenService['publicJwks']>;
  authorize(params: AuthorizeParams): AuthorizeOutcome;
  /** The user's answer on the consent page. */
  decide(requestId: string, decision: { approve: boolean; patient?: string }): AuthorizeOutcome;
  /** Handles a token request. @throws OAuthError */
  token(form: Record<string, string | undefined>): Promise<TokenResponse>;
}

const CODE_LIFETIME_SECONDS = 60;
const REFRESH_LIFETIME_SECONDS = 24 * 3600;

/** Creates the server, generating its token-signing key. */
export async function createSmartAuthServer(options: SmartAuthOptions): Promise<SmartAuthServer> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const issuer = withoutTrailingSlash(options.issuer);
  const origin = new URL(issuer).origin;
  const authPrefix = withoutTrailingSlash(options.authPrefix ?? '/auth');
  const authorizationEndpoint = `${origin}${authPrefix}/authorize`;
  const tokenEndpoint = `${origin}${authPrefix}/token`;
  const jwksUri = `${origin}${authPrefix}/jwks`;
  const introspectionEndpoint = `${origin}${authPrefix}/introspect`;
  const lifetime = options.accessTokenLifetimeSeconds ?? 3600;
  const tokens = await createAccessTokenService({ issuer, now });
  const state: AuthorizationState = createAuthorizationState(now);
  const assertions: ClientAssertionVerifier = createClientAssertionVerifier({
    clients: options.clients,
    tokenEndpoint,
    now,
  });
  const findClient = (id: string | undefined): RegisteredClient | undefined =>
    options.clients.find((c) => c.clientId === id);

  const redirectWith = (
    redirectUri: string,
    params: Record<string, string | undefined>,
  ): AuthorizeOutcome => {
    const url = new URL(redirectUri);
    for (const [name, value] of Object.entries(params))
      if (value !== undefined) url.searchParams.set(name, value);
    return { kind: 'redirect', location: url.toString() };
  };

  const issueCode = (pending: PendingAuthorization, context: LaunchContext | undefined): AuthorizeOutcome => {
    const code = state.addCode({
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      scopes: pending.scopes,
      codeChallenge: pending.codeChallenge,
      context,
      expiresAt: now() + CODE_LIFETIME_SECONDS,
    });
    return redirectWith(pending.redirectUri, { code, state: pending.state });
  };

  const authenticateClient = async (form: Record<string, string | undefined>): Promise<RegisteredClient> => {
    if (form.client_assertion !== undefined || form.client_assertion_type !== undefined) {
      if (form.client_assertion_type !== JWT_BEARER_ASSERTION_TYPE) {
        throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER_ASSERTION_TYPE}`);
      }
      if (!form.client_assertion) throw new OAuthError('invalid_request', 'client_assertion is missing');
      return assertions.verify(form.client_assertion, form.client_id);
    }
    const client = findClient(form.client_id);
    if (!client) throw new OAuthError('invalid_client', 'unknown client_id');
    if (client.type === 'confidential') {
      throw new OAuthError(
        'invalid_client',
        'confidential clients authenticate with a client_assertion (private_key_jwt)',
      );
    }
    return client;
  };

  const tokenResponse = async (
    client: RegisteredClient,
    scopes: string[],
    context: LaunchContext | undefined,
    isLaunch: boolean,
  ): Promise<TokenResponse> => {
    const user = options.users?.[0];
    const wantsUser = scopes.includes('fhirUser') && user !== undefined;
    const accessToken = await tokens.issue(
      {
        sub: user && (scopes.includes('openid') || wantsUser) ? user.id : client.clientId,
        client_id: client.clientId,
        scope: scopes.join(' '),
        ...(context?.patient ? { patient: context.patient } : {}),
        ...(context?.encounter ? { encounter: context.encounter } : {}),
        ...(wantsUser ? { fhirUser: user.fhirUser } : {}),
      },
      lifetime,
    );
    const response: TokenResponse = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: lifetime,
      scope: scopes.join(' '),
    };
    if (context?.patient) response.patient = context.patient;
    if (context?.encounter) response.encounter = context.encounter;
    if (isLaunch && context?.patient) response.need_patient_banner = true;
    if (scopes.includes('openid')) {
      response.id_token = await tokens.issueIdToken(
        {
          sub: user?.id ?? client.clientId,
          aud: client.clientId,
          ...(wantsUser ? { fhirUser: user.fhirUser } : {}),
        },
        lifetime,
      );
    }
    if (scopes.includes('offline_access') || scopes.includes('online_access')) {
      response.refresh_token = state.addRefresh({
        clientId: client.clientId,
        scopes,
        context,
        expiresAt: now() + REFRESH_LIFETIME_SECONDS,
      });
    }
    return response;
  };

  return {
    options,
    authorizationEndpoint,
    tokenEndpoint,
    jwksUri,
    introspectionEndpoint,
    async introspect(token, callerToken) {
      const caller = await tokens.verify(callerToken).catch(() => undefined);
      if (!caller || findClient(caller.client_id)?.type !== 'confidential') return undefined;
      const claims = await tokens.verify(token).catch(() => undefined);
      // RFC 7662 §2.2: an invalid, expired or unknown token is just `active: false`.
      if (!claims) return { active: false };
      return {
        active: true,
        scope: claims.scope,
        client_id: claims.client_id,
        sub: claims.sub,
        iss: claims.iss,
        aud: claims.aud,
        exp: claims.exp,
        iat: claims.iat,
        token_type: 'Bearer',
        ...(claims.patient ? { patient: claims.patient } : {}),
        ...(claims.fhirUser ? { fhirUser: claims.fhirUser } : {}),
      };
    },
    createLaunch: (context) => state.createLaunch(context),
    verifyAccessToken: (token) => tokens.verify(token),
    smartConfiguration: () =>
      buildSmartConfiguration({ issuer, jwksUri, authorizationEndpoint, tokenEndpoint, introspectionEndpoint }),
    publicJwks: () => tokens.publicJwks(),

    authorize(params) {
      const client = findClient(params.client_id);
      if (!client) return { kind: 'error-page', status: 400, message: 'unknown client_id' };
      if (!params.redirect_uri || !client.redirectUris.includes(params.redirect_uri)) {
        return {
          kind: 'error-page',
          status: 400,
          message: 'redirect_uri is missing or not registered for this client',
        };
      }
      const fail = (error: string, description: string) =>
        redirectWith(params.redirect_uri as string, {
          error,
          error_description: description,
          state: params.state,
        });
      if (params.response_type !== 'code')
        return fail('unsupported_response_type', 'response_type must be code');
      // SMART 2 §"Obtain authorization code": aud must be the FHIR base URL of the resource server.
      if (withoutTrailingSlash(params.aud ?? '') !== issuer) {
        return fail('invalid_request', `aud must be the FHIR base URL ${issuer}`);
      }
      // SMART 2 requires PKCE with S256; `plain` is not allowed (§"Considerations for PKCE Support").
      if (params.code_challenge_method !== 'S256')
        return fail('invalid_request', 'code_challenge_method must be S256');
      if (!params.code_challenge || !/^[A-Za-z0-9_-]{43}$/.test(params.code_challenge)) {
        return fail('invalid_request', 'code_challenge must be a base64url SHA-256 digest (43 characters)');
      }
      const requested = splitScopes(params.scope);
      const scopes = grantableScopes(requested, client.scopes);
      if (!scopes.length)
        return fail('invalid_scope', 'none of the requested scopes is allowed for this client');
      if (scopes.some((s) => parseResourceScope(s)?.context === 'system')) {
        return fail('invalid_scope', 'system/ scopes are for the client_credentials grant only');
      }
      let context: LaunchContext | undefined;
      if (params.launch !== undefined) {
        context = state.launch(params.launch);
        if (!context) return fail('invalid_request', 'unknown or expired launch');
      }
      let needsPatientPick = scopes.includes('launch/patient') && !context;
      if (needsPatientPick && params.patient) {
        // Sandbox convenience: a standalone launch may name the patient instead of using the picker.
        context = { patient: params.patient };
        needsPatientPick = false;
      }
      const pending: PendingAuthorization = {
        clientId: client.clientId,
        redirectUri: params.redirect_uri,
        scopes,
        state: params.state,
        codeChallenge: params.code_challenge,
        context,
        needsPatientPick,
        expiresAt: now() + 600,
      };
      if (options.autoApprove) {
        if (needsPatientPick) {
          const first = options.patients?.[0];
          if (!first)
            return fail(
              'invalid_request',
              'launch/patient needs a patient: pass patient=<id> or configure patients',
            );
          return issueCode(pending, { patient: first.id });
        }
        return issueCode(pending, context);
      }
      return { kind: 'consent', requestId: state.addPending(pending), pending };
    },

    decide(requestId, decision) {
      const pending = state.takePending(requestId);
      if (!pending)
        return { kind: 'error-page', status: 400, message: 'unknown or expired authorization request' };
      if (!decision.approve) {
        return redirectWith(pending.redirectUri, {
          error: 'access_denied',
          error_description: 'the user denied access',
          state: pending.state,
        });
      }
      let context = pending.context;
      if (pending.needsPatientPick) {
        if (!decision.patient) {
          return redirectWith(pending.redirectUri, {
            error: 'invalid_request',
            error_description: 'no patient was selected',
            state: pending.state,
          });
        }
        context = { patient: decision.patient };
      }
      return issueCode(pending, context);
    },

    async token(form) {
      switch (form.grant_type) {
        case 'authorization_code': {
          const client = await authenticateClient(form);
          if (!form.code) throw new OAuthError('invalid_request', 'code is missing');
          const reused = state.wasRedeemed(form.code);
          const grant = state.takeCode(form.code);
          if (!grant) {
            throw new OAuthError(
              'invalid_grant',
              reused ? 'authorization code has already been used' : 'unknown or expired authorization code',
            );
          }
          if (grant.clientId !== client.clientId)
            throw new OAuthError('invalid_grant', 'code was issued to another client');
          if (form.redirect_uri !== grant.redirectUri)
            throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request');
          if (!form.code_verifier)
            throw new OAuthError('invalid_request', 'code_verifier is missing (PKCE is required)');
          if (!verifyS256(form.code_verifier, grant.codeChallenge)) {
            throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
          }
          return tokenResponse(client, grant.scopes, grant.context, grant.scopes.includes('launch'));
        }
        case 'client_credentials': {
          // SMART 2 §Backend Services: the client authenticates with a signed JWT assertion only.
          if (form.client_assertion_type !== JWT_BEARER_ASSERTION_TYPE || !form.client_assertion) {
            throw new OAuthError(
              'invalid_client',
              `client_credentials requires client_assertion_type=${JWT_BEARER_ASSERTION_TYPE} and a client_assertion`,
            );
          }
          const client = await assertions.verify(form.client_assertion, form.client_id);
          // RFC 6749 §5.2 unauthorized_client: a client registered without system/ scopes is not a backend service.
          if (!client.scopes.some((s) => parseResourceScope(s)?.context === 'system')) {
            throw new OAuthError(
              'unauthorized_client',
              'this client is not registered for the client_credentials grant',
            );
          }
          const requested = splitScopes(form.scope);
          if (!requested.length) throw new OAuthError('invalid_scope', 'scope is required');
          const scopes = grantableScopes(requested, client.scopes).filter(
            (s) => parseResourceScope(s)?.context === 'system',
          );
          if (!scopes.length)
            throw new OAuthError(
              'invalid_scope',
              'none of the requested system/ scopes is allowed for this client',
            );
          return tokenResponse(client, scopes, undefined, false);
        }
        case 'refresh_token': {
          const client = await authenticateClient(form);
          const grant = form.refresh_token ? state.refresh(form.refresh_token) : undefined;
          if (!grant || grant.clientId !== client.clientId)
            throw new OAuthError('invalid_grant', 'unknown or expired refresh_token');
          const requested = form.scope ? splitScopes(form.scope) : grant.scopes;
          const scopes = grantableScopes(requested, grant.scopes);
          if (!scopes.length)
            throw new OAuthError('invalid_scope', 'requested scopes exceed the original grant');
          return tokenResponse(client, scopes, grant.context, false);
        }
        case undefined:
          throw new OAuthError('invalid_request', 'grant_type is missing');
        default:
          throw new OAuthError('unsupported_grant_type', `grant_type ${form.grant_type} is not supported`);
      }
    },
  };
}
