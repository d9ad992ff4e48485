import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { outcome } from '../fhir/operation-outcome.js';

/** Paths of the operator page; they list patient references, so they are never public. */
export const OPERATOR_PATHS: readonly string[] = ['/', '/api/assessments'];

/** True for IPv4 127.0.0.0/8, IPv6 ::1 and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const bare = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** Constant-time comparison of a presented bearer token with the configured one. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const presented = Buffer.from(match[1]);
  const wanted = Buffer.from(expected);
  return presented.length === wanted.length && timingSafeEqual(presented, wanted);
}

/**
 * An `onRequest` hook guarding the operator page. With `OPERATOR_TOKEN` set, callers must present
 * it as `Authorization: Bearer` (RFC 6750 §2.1); without it, only loopback peers are served. The
 * peer is the socket's address, never `X-Forwarded-For`, which a caller can forge.
 */
export function createOperatorGuard(operatorToken: string | undefined) {
  return async function operatorGuard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const path = request.url.split('?')[0] ?? '';
    if (!OPERATOR_PATHS.includes(path)) return;
    if (operatorToken !== undefined) {
      if (bearerMatches(request.headers.authorization, operatorToken)) return;
      // RFC 6750 §3: a 401 carries the challenge.
      await reply
        .status(401)
        .header('www-authenticate', 'Bearer realm="fhir-fusion-operator"')
        .type('application/fhir+json')
        .send(outcome('login', 'The operator page requires the configured operator bearer token'));
      return;
    }
    if (isLoopbackAddress(request.socket.remoteAddress)) return;
    await reply
      .status(403)
      .type('application/fhir+json')
      .send(outcome('forbidden', 'The operator page is served to loopback callers only unless OPERATOR_TOKEN is configured'));
  };
}
