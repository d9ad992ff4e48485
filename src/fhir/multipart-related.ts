import { randomBytes } from 'node:crypto';

/**
 * `multipart/related` bodies (RFC 2387 over the RFC 2046 §5.1 multipart syntax) as used by
 * DICOMweb STOW-RS and WADO-RS (DICOM PS3.18 §8.6.1.2). Shared by the pipeline's DICOMweb client
 * and the sandbox's DICOMweb server, so it lives outside `src/sandbox/`.
 */

/** One body part: lower-cased header names → values, and the raw bytes of its body. */
export interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

/** A part to serialise; `contentType` becomes the part's `Content-Type` header. */
export interface MultipartPartInput {
  contentType: string;
  body: Buffer | Uint8Array;
  /** Extra headers, e.g. `Content-Location` (PS3.18 §8.6.1.2.2). */
  headers?: Record<string, string>;
}

/** Why a multipart body could not be parsed; `where` names the header or body position at fault. */
export class MultipartParseError extends Error {
  /** Name of the offending element: `Content-Type` (the header) or `body` / `body.part[N]`. */
  readonly where: string;
  constructor(message: string, where: string) {
    super(message);
    this.name = 'MultipartParseError';
    this.where = where;
  }
}

/** A parsed media type: `type/subtype` lower-cased, parameters with lower-cased names, unquoted values. */
export interface MediaType {
  mediaType: string;
  parameters: Record<string, string>;
}

/**
 * Parses a `Content-Type` / media-range value such as
 * `multipart/related; type="application/dicom"; boundary=abc` (RFC 7231 §3.1.1.1: parameter values
 * are tokens or quoted-strings, where `\` escapes the next character).
 */
export function parseMediaType(value: string): MediaType {
  let i = value.indexOf(';');
  const mediaType = (i < 0 ? value : value.slice(0, i)).trim().toLowerCase();
  const parameters: Record<string, string> = {};
  while (i >= 0 && i < value.length) {
    i++; // skip ';'
    const eq = value.indexOf('=', i);
    if (eq < 0) break;
    const name = value.slice(i, eq).trim().toLowerCase();
    let j = eq + 1;
    while (value[j] === ' ' || value[j] === '\t') j++;
    let paramValue = '';
    if (value[j] === '"') {
      j++;
      while (j < value.length && value[j] !== '"') {
        if (value[j] === '\\' && j + 1 < value.length) j++;
        paramValue += value[j];
        j++;
      }
      j++; // closing quote
      const next = value.indexOf(';', j);
      i = next;
    } else {
      const next = value.indexOf(';', j);
      paramValue = (next < 0 ? value.slice(j) : value.slice(j, next)).trim();
      i = next;
    }
    if (name) parameters[name] = paramValue;
  }
  return { mediaType, parameters };
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Splits a `multipart/related` body into its parts. The boundary comes from the `boundary`
 * parameter of `contentType`, quoted or not. Tolerates a preamble and epilogue (RFC 2046 §5.1.1),
 * transport padding after boundary lines, and bare-LF line ends from sloppy clients.
 *
 * @throws MultipartParseError when the content type is not multipart, has no boundary, or the body
 *   has no closing delimiter.
 */
export function parseMultipartRelated(body: Buffer, contentType: string): MultipartPart[] {
  const { mediaType, parameters } = parseMediaType(contentType);
  if (!mediaType.startsWith('multipart/')) {
    throw new MultipartParseError(`expected a multipart media type, got "${mediaType}"`, 'Content-Type');
  }
  const boundary = parameters.boundary;
  if (!boundary) {
    throw new MultipartParseError('multipart Content-Type has no boundary parameter', 'Content-Type');
  }
  // RFC 2046 §5.1.1: boundaries are 1-70 characters.
  if (boundary.length > 70) {
    throw new MultipartParseError('multipart boundary is longer than 70 characters', 'Content-Type');
  }
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];

  let pos = findDelimiter(body, delimiter, 0);
  if (pos < 0) {
    throw new MultipartParseError(`body does not contain the boundary "${boundary}"`, 'body');
  }
  for (;;) {
    let cursor = pos + delimiter.length;
    // Close delimiter: "--boundary--".
    if (body[cursor] === 0x2d && body[cursor + 1] === 0x2d) return parts;
    cursor = skipLineEnd(body, cursor);
    if (cursor < 0) {
      throw new MultipartParseError(
        `malformed boundary line in part ${parts.length}`,
        `body.part[${parts.length}]`,
      );
    }
    const next = findDelimiter(body, delimiter, cursor);
    if (next < 0) {
      throw new MultipartParseError('body ends without the closing boundary', `body.part[${parts.length}]`);
    }
    // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    let end = next;
    if (end >= 2 && body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    else if (end >= 1 && body[end - 1] === 0x0a) end -= 1;
    parts.push(parsePart(body.subarray(cursor, end), parts.length));
    pos = next;
  }
}

/**
 * Finds a delimiter line: `--boundary` at the start of the body or of a line, followed by `--`,
 * transport padding or a line end (RFC 2046 §5.1.1), so `--boundaryXYZ` inside data is not one.
 */
function findDelimiter(body: Buffer, delimiter: Buffer, from: number): number {
  let at = body.indexOf(delimiter, from);
  while (at >= 0) {
    const next = body[at + delimiter.length];
    const startsLine = at === 0 || body[at - 1] === 0x0a;
    const endsDelimiter =
      next === undefined || next === 0x2d || next === 0x20 || next === 0x09 || next === 0x0d || next === 0x0a;
    if (startsLine && endsDelimiter) return at;
    at = body.indexOf(delimiter, at + 1);
  }
  return -1;
}

/** Skips transport padding (spaces/tabs) and one line end after a boundary; -1 if none. */
function skipLineEnd(body: Buffer, from: number): number {
  let i = from;
  while (body[i] === 0x20 || body[i] === 0x09) i++;
  if (body[i] === 0x0d && body[i + 1] === 0x0a) return i + 2;
  if (body[i] === 0x0a) return i + 1;
  return -1;
}

function parsePart(raw: Buffer, index: number): MultipartPart {
  let headerEnd = raw.indexOf(HEADER_END);
  let bodyStart = headerEnd + 4;
  const lfOnly = raw.indexOf('\n\n');
  if (headerEnd < 0 || (lfOnly >= 0 && lfOnly < headerEnd)) {
    headerEnd = lfOnly;
    bodyStart = lfOnly + 2;
  }
  // A part that starts with an empty line has no headers (RFC 2046 §5.1.1: defaults apply).
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { headers: {}, body: raw.subarray(2) };
  if (raw[0] === 0x0a) return { headers: {}, body: raw.subarray(1) };
  if (headerEnd < 0) {
    throw new MultipartParseError(`part ${index} has no blank line after its headers`, `body.part[${index}]`);
  }
  const headers: Record<string, string> = {};
  for (const line of raw.subarray(0, headerEnd).toString('latin1').split(/\r?\n/)) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw new MultipartParseError(`part ${index} has a malformed header line`, `body.part[${index}]`);
    }
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.subarray(bodyStart) };
}

/** A boundary that cannot occur by chance in binary payloads (RFC 2046 §5.1.1 allows 70 chars). */
export function newBoundary(): string {
  return `fhir-fusion-${randomBytes(16).toString('hex')}`;
}

/**
 * Serialises parts as a `multipart/related` body. Returns the body and the `Content-Type` header
 * to send with it, `multipart/related; type="<type>"; boundary=<boundary>` (RFC 2387 §3.1:
 * `type` is the root part's media type).
 */
export function buildMultipartRelated(
  parts: MultipartPartInput[],
  type: string,
  boundary: string = newBoundary(),
): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const headerLines = [`Content-Type: ${part.contentType}`];
    for (const [name, value] of Object.entries(part.headers ?? {})) headerLines.push(`${name}: ${value}`);
    chunks.push(Buffer.from(`--${boundary}\r\n${headerLines.join('\r\n')}\r\n\r\n`, 'latin1'));
    chunks.push(
      Buffer.isBuffer(part.body)
        ? part.body
        : Buffer.from(part.body.buffer, part.body.byteOffset, part.body.byteLength),
    );
    chunks.push(CRLF);
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
  return {
    body: Buffer.concat(chunks),
    contentType: `multipart/related; type="${type}"; boundary=${boundary}`,
  };
}
