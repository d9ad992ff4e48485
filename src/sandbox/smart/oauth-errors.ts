import type { FastifyReply } from 'fastify';

/** Error codes of RFC 6749 §5.2 used by the token endpoint, and §4.1.2.1 by the authorize endpoint. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type';

/** An OAuth 2.0 error with its HTTP status: 401 for `invalid_client`, 400 otherwise (RFC 6749 §5.2). */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  constructor(code: OAuthErrorCode, description: string) {
    super(description);
    this.name = 'OAuthError';
    this.code = code;
    this.status = code === 'invalid_client' ? 401 : 400;
  }
}

/** Sends `{ error, error_description }` with no-store caching (RFC 6749 §5.1/§5.2). */
export function sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  return reply
    .code(error.status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send({ error: error.code, error_description: error.message });
}
