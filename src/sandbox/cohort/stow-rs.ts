import { randomUUID } from 'node:crypto';

/** A multipart/related body for STOW-RS and its Content-Type header. */
export interface MultipartBody {
  contentType: string;
  body: Uint8Array<ArrayBuffer>;
}

/**
 * Builds a STOW-RS request body (DICOM PS3.18 §10.5.1.2): `multipart/related;
 * type="application/dicom"` with one `application/dicom` part per Part-10 instance, parts
 * separated by CRLF-delimited boundaries per RFC 2046 §5.1.1. The boundary is random and
 * checked not to occur in any part.
 */
export function stowMultipartBody(
  instances: readonly Uint8Array[],
  boundary = `fhir-fusion-${randomUUID()}`,
): MultipartBody {
  const encoder = new TextEncoder();
  const boundaryBytes = encoder.encode(boundary);
  for (const part of instances) {
    if (Buffer.from(part.buffer, part.byteOffset, part.byteLength).indexOf(boundaryBytes) >= 0)
      throw new Error('multipart boundary occurs in a DICOM part; retry with another boundary');
  }
  const head = encoder.encode(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`);
  const between = encoder.encode('\r\n');
  const tail = encoder.encode(`--${boundary}--\r\n`);
  let length = tail.length;
  for (const part of instances) length += head.length + part.length + between.length;
  const body = new Uint8Array(length);
  let o = 0;
  for (const part of instances) {
    body.set(head, o);
    o += head.length;
    body.set(part, o);
    o += part.length;
    body.set(between, o);
    o += between.length;
  }
  body.set(tail, o);
  return { contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`, body };
}

/** Outcome of one STOW-RS request, from its status and the Store Instances Response (PS3.18 §10.5.3). */
export interface StowResult {
  status: number;
  /** SOP Instance UIDs listed in Failed SOP Sequence (0008,1198). */
  failedSopInstanceUids: string[];
}

/** Reads Failed SOP Sequence from a DICOM JSON (PS3.18 Annex F) response body, tolerating none. */
export function parseStowResponse(status: number, body: unknown): StowResult {
  const failed: string[] = [];
  const root = Array.isArray(body) ? body[0] : body;
  if (root && typeof root === 'object') {
    const seq = (root as Record<string, { Value?: unknown[] }>)['00081198']?.Value ?? [];
    for (const item of seq) {
      const uid = (item as Record<string, { Value?: unknown[] }> | undefined)?.['00081155']?.Value?.[0];
      if (typeof uid === 'string') failed.push(uid);
    }
  }
  return { status, failedSopInstanceUids: failed };
}
