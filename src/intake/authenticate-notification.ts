import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers as fastify presents them. */
type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks that a notification comes from the EHR that holds the subscription. Two ways EHRs do it:
 * - Medplum: `X-Signature` = hex HMAC-SHA256 of the exact body bytes with the subscription secret;
 * - R4 `Subscription.channel.header` (HAPI FHIR, Backport IG): the secret sent as
 *   `Authorization: Bearer <secret>`, a header the subscription set when it was created.
 * Both compared in constant time.
 */
export function authenticateNotification(secret: string, headers: Headers, rawBody: Buffer): boolean {
  const signature = header(headers, 'x-signature');
  if (signature) {
    const expected = createHmac('sha256', secret).update(rawBody).digest('hex');
    return safeEqual(signature.toLowerCase(), expected);
  }
  const authorization = header(headers, 'authorization');
  if (authorization?.startsWith('Bearer ')) {
    return safeEqual(authorization.slice('Bearer '.length), secret);
  }
  return false;
}
