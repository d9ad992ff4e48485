import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/** Algorithms SMART Backend Services clients sign with (SMART App Launch 2 §Backend Services). */
export type BackendSigningAlg = 'RS384' | 'ES384';

/** One private key ready for signing client assertions. */
export interface SigningKey {
  key: KeyObject;
  kid: string;
  alg: BackendSigningAlg;
  /** Public half as a JWK with `kid`, `alg`, `use: sig`, `key_ops: ['verify']`. */
  publicJwk: JWK;
}

/** The keys of one client: the newest signs, all are published (key rotation). */
export interface SigningKeySet {
  /** The key to sign with: the last one loaded. */
  current: SigningKey;
  all: SigningKey[];
  /** JWK Set of every public key, for `/.well-known/jwks.json` (RFC 7517 §5). */
  publicJwks(): { keys: JWK[] };
}

/** Why a key file could not be used; `file` names it. */
export class SigningKeyError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SigningKeyError';
    this.file = file;
  }
}

/** RSA keys sign RS384; EC keys must be P-384 and sign ES384 (RFC 7518 §3.3, §3.4). */
function algorithmOf(key: KeyObject, source: string): BackendSigningAlg {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048)
      throw new SigningKeyError(source, `RSA key has ${bits} bits; at least 2048 are required`);
    return 'RS384';
  }
  if (key.asymmetricKeyType === 'ec') {
    if (key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
      throw new SigningKeyError(source, 'EC keys must be on curve P-384 to sign ES384');
    }
    return 'ES384';
  }
  throw new SigningKeyError(
    source,
    `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}; use RSA (RS384) or EC P-384 (ES384)`,
  );
}

/**
 * Turns a private key given as PEM (PKCS#8 or PKCS#1/SEC1) text or a private JWK into a signing
 * key. The `kid` is the JWK's own, else its RFC 7638 thumbprint.
 */
export async function signingKeyFrom(source: string | JWK, label = 'key'): Promise<SigningKey> {
  let key: KeyObject;
  let kid: string | undefined;
  try {
    if (typeof source === 'string' && source.trimStart().startsWith('-----BEGIN')) {
      key = createPrivateKey(source);
    } else {
      const jwk = (typeof source === 'string' ? JSON.parse(source) : source) as JWK;
      if (!jwk.d) throw new SigningKeyError(label, 'JWK has no private part ("d")');
      kid = jwk.kid;
      key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    }
  } catch (error) {
    if (error instanceof SigningKeyError) throw error;
    throw new SigningKeyError(label, `not a private key in PEM or JWK form (${(error as Error).message})`);
  }
  const alg = algorithmOf(key, label);
  const publicJwk = await exportJWK(createPublicKey(key));
  kid ??= await calculateJwkThumbprint(publicJwk, 'sha256');
  return { key, kid, alg, publicJwk: { ...publicJwk, kid, alg, use: 'sig', key_ops: ['verify'] } };
}

/**
 * Loads one or two (or more) private key files, oldest first. During rotation both public keys
 * are published while the newest (last) signs, so verifiers that cached the old key keep working.
 */
export async function loadSigningKeys(files: string[]): Promise<SigningKeySet> {
  if (!files.length) throw new SigningKeyError('(none)', 'at least one private key file is required');
  const all: SigningKey[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new SigningKeyError(file, `cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    all.push(await signingKeyFrom(text, file));
  }
  return signingKeySet(all);
}

/** Builds a key set from keys already in memory, oldest first. */
export function signingKeySet(keys: SigningKey[]): SigningKeySet {
  const current = keys[keys.length - 1];
  if (!current) throw new SigningKeyError('(none)', 'at least one key is required');
  return { current, all: keys, publicJwks: () => ({ keys: keys.map((k) => k.publicJwk) }) };
}
