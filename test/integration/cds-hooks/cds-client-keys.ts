import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A test CDS client: ES384 and RS384 signing keys, their JWKS served over HTTP, and a signer. */
export interface CdsTestClient {
  iss: string;
  jwksUrl: string;
  /** Signs a CDS Hooks client JWT (CDS Hooks 2.0 §Trusting CDS Clients); `claims` override defaults. */
  sign(aud: string, options?: { alg?: 'ES384' | 'RS384'; claims?: Record<string, unknown>; jku?: string }): Promise<string>;
  close(): Promise<void>;
}

/** Starts a JWKS endpoint on loopback and returns a client that signs with its keys. */
export async function startCdsTestClient(iss = 'https://ehr.example.org/cds-client'): Promise<CdsTestClient> {
  const keys: Record<'ES384' | 'RS384', { privateKey: CryptoKey; jwk: JWK }> = {} as never;
  for (const alg of ['ES384', 'RS384'] as const) {
    const pair = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: `${alg.toLowerCase()}-1`, alg, use: 'sig' };
    keys[alg] = { privateKey: pair.privateKey, jwk };
  }
  const body = JSON.stringify({ keys: [keys.ES384.jwk, keys.RS384.jwk] });
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  return {
    iss,
    jwksUrl,
    async sign(aud, options = {}) {
      const alg = options.alg ?? 'ES384';
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss, aud, iat: now, exp: now + 300, jti: randomUUID(), ...options.claims })
        .setProtectedHeader({ alg, typ: 'JWT', kid: keys[alg].jwk.kid, jku: options.jku ?? jwksUrl })
        .sign(keys[alg].privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
