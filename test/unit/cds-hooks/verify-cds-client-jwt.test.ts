import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createCdsClientJwtVerifier } from '../../../src/review/cds-hooks/verify-cds-client-jwt.js';

const ISS = 'https://sandbox.cds-hooks.org';
const JWKS_URL = 'https://sandbox.cds-hooks.org/.well-known/jwks.json';
const AUD = 'https://fusion.example.org/cds-services/fusion-risk-patient-view';

async function client() {
  const { privateKey, publicKey } = await generateKeyPair('ES384');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384' };
  const verify = createCdsClientJwtVerifier({
    clients: { [ISS]: JWKS_URL },
    replay: { remember: async () => true },
    fetch: async () =>
      new Response(JSON.stringify({ keys: [jwk] }), { headers: { 'content-type': 'application/json' } }),
  });
  const sign = (claims: { iat: number; exp: number }) =>
    new SignJWT({ jti: `jti-${Math.random()}` })
      .setProtectedHeader({ alg: 'ES384', kid: 'k1', typ: 'JWT' })
      .setIssuer(ISS)
      .setAudience(AUD)
      .setIssuedAt(claims.iat)
      .setExpirationTime(claims.exp)
      .sign(privateKey);
  return { verify, sign };
}

// Issue 25.7: an old iat was refused as "The JWT has expired [exp]".
describe('CDS client JWT refusals name the claim that failed', () => {
  it('an iat older than 5 minutes (exp still ahead) is refused naming iat', async () => {
    const { verify, sign } = await client();
    const now = Math.floor(Date.now() / 1000);
    const result = await verify(`Bearer ${await sign({ iat: now - 600, exp: now + 600 })}`, [AUD]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const issue = result.issue.issue[0];
    expect(issue?.expression).toEqual(['iat']);
    expect(issue?.diagnostics).toMatch(/iat/);
    expect(issue?.diagnostics).not.toMatch(/expired/);
  });

  it('a past exp is still refused naming exp, and a fresh token passes', async () => {
    const { verify, sign } = await client();
    const now = Math.floor(Date.now() / 1000);
    const expired = await verify(`Bearer ${await sign({ iat: now - 200, exp: now - 100 })}`, [AUD]);
    expect(expired.ok).toBe(false);
    if (!expired.ok) expect(expired.issue.issue[0]?.expression).toEqual(['exp']);
    const fresh = await verify(`Bearer ${await sign({ iat: now, exp: now + 300 })}`, [AUD]);
    expect(fresh).toEqual({ ok: true, value: { iss: ISS } });
  });
});
