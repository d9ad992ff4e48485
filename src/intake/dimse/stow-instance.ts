import { randomUUID } from 'node:crypto';
import type { FetchLike } from '../../contracts/fetch-like.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/** Why a STOW-RS store did not succeed (no instance content, no identifiers). */
export type StowFailure = 'unreachable' | `http-${number}` | 'instance-failed';

/**
 * Stores one Part-10 instance with STOW-RS (DICOM PS3.18 §10.5: `POST {base}/studies`, body
 * `multipart/related; type="application/dicom"`, RFC 2046 §5.1.1 boundaries). Success only when
 * the origin server answers 200 and its Store Instances Response lists no Failed SOP (PS3.18
 * §10.5.3.1: 202 means some instances failed, 409 that all did).
 */
export async function stowInstance(
  part10: Uint8Array,
  sopInstanceUid: string,
  options: { baseUrl: string; fetch: FetchLike },
): Promise<{ ok: true } | { ok: false; reason: StowFailure }> {
  let boundary = `fhir-fusion-${randomUUID()}`;
  while (Buffer.from(part10).includes(boundary)) boundary = `fhir-fusion-${randomUUID()}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
    part10,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  let response: Response;
  try {
    response = await options.fetch(`${withoutTrailingSlash(options.baseUrl)}/studies`, {
      method: 'POST',
      headers: {
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        accept: 'application/dicom+json',
      },
      body,
    });
  } catch {
    return { ok: false, reason: 'unreachable' };
  }
  const text = await response.text().catch(() => '');
  if (response.status !== 200) return { ok: false, reason: `http-${response.status}` };
  if (failedUids(text).includes(sopInstanceUid)) return { ok: false, reason: 'instance-failed' };
  return { ok: true };
}

/** SOP Instance UIDs in Failed SOP Sequence (0008,1198) of a DICOM JSON (PS3.18 Annex F) response. */
function failedUids(text: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [];
  }
  const root = Array.isArray(json) ? json[0] : json;
  const seq = (root as Record<string, { Value?: unknown[] }> | undefined)?.['00081198']?.Value ?? [];
  return seq
    .map((item) => (item as Record<string, { Value?: unknown[] }>)?.['00081155']?.Value?.[0])
    .filter((uid): uid is string => typeof uid === 'string');
}
