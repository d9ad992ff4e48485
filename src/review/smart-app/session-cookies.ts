import type { FastifyReply, FastifyRequest } from 'fastify';

/** Cookie holding the opaque review-session id. */
export const SESSION_COOKIE = 'fusion_review_session';
/** Cookie binding an authorization request to the browser that started it (RFC 6749 §10.12). */
export const LAUNCH_COOKIE = 'fusion_review_launch';

/** Reads one cookie from the Cookie header (RFC 6265 §5.4). */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=') || undefined;
  }
  return undefined;
}

/**
 * Whether the app's public origin is a secure context (W3C Secure Contexts §3.1: https, or
 * loopback http, which browsers treat as potentially trustworthy and let set `Secure` cookies).
 */
export function isSecureOrigin(publicUrl: string): boolean {
  const url = new URL(publicUrl);
  return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

/**
 * Sets an HttpOnly cookie scoped to the app's path.
 *
 * On a secure origin: `SameSite=None; Secure; Partitioned` (CHIPS). EHRs embed SMART apps in a
 * frame on their own site; a `Lax` cookie is neither set nor sent in a cross-site frame, so the
 * launch's browser binding and the session were lost there (issue 25.0). A partitioned cookie is
 * kept per top-level site and works with third-party cookies blocked: the cookie set in the EHR's
 * frame is sent only inside frames under that EHR, a launch in its own window gets its own
 * partition, and no other site ever sees either. What `Lax` also did is done explicitly: the
 * `state` stays bound to the browser that started the launch (RFC 6749 §10.12) and every POST
 * carries the session's CSRF token.
 *
 * On plain http (not loopback) browsers refuse `SameSite=None`: `SameSite=Lax`, window launch only.
 */
export function setCookie(
  reply: FastifyReply,
  input: { name: string; value: string; path: string; maxAgeSeconds: number; secure: boolean },
): void {
  const attributes = [
    `${input.name}=${input.value}`,
    `Path=${input.path}`,
    `Max-Age=${Math.max(0, Math.floor(input.maxAgeSeconds))}`,
    'HttpOnly',
    ...(input.secure ? ['SameSite=None', 'Secure', 'Partitioned'] : ['SameSite=Lax']),
  ];
  const existing = reply.getHeader('set-cookie');
  const list = Array.isArray(existing) ? existing.map(String) : existing ? [String(existing)] : [];
  reply.header('set-cookie', [...list, attributes.join('; ')]);
}
