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
 * Sets an HttpOnly cookie scoped to the app's path. `SameSite=Lax`: the session must survive the
 * top-level redirect back from the EHR's authorize endpoint (Strict would drop it), while
 * cross-site POSTs never carry it (the feedback form also checks a CSRF token). `Secure` whenever
 * the public URL is https.
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
    'SameSite=Lax',
    ...(input.secure ? ['Secure'] : []),
  ];
  const existing = reply.getHeader('set-cookie');
  const list = Array.isArray(existing) ? existing.map(String) : existing ? [String(existing)] : [];
  reply.header('set-cookie', [...list, attributes.join('; ')]);
}
