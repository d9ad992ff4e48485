import type { Resource } from '@medplum/fhirtypes';
import type { FetchLike } from '../contracts/fetch-like.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';
import type { ExportManifest } from '../contracts/bulk-export.js';

/** The export server answered something the IG does not allow, or an error. */
export class BulkDataError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'BulkDataError';
  }
}

/** What to export: level, `_type`, `_since`, `_typeFilter` (Bulk Data 2.0 §Query Parameters). */
export interface ExportParameters {
  level: 'system' | 'patient' | 'group';
  groupId?: string;
  types?: string[];
  since?: string;
  typeFilters?: string[];
}

/** The kick-off URL for the parameters against a FHIR base URL. */
export function kickOffUrl(fhirBaseUrl: string, p: ExportParameters): string {
  const base = withoutTrailingSlash(fhirBaseUrl);
  const path =
    p.level === 'system' ? '/$export' : p.level === 'patient' ? '/Patient/$export' : `/Group/${encodeURIComponent(p.groupId ?? '')}/$export`;
  const query = new URLSearchParams();
  if (p.types && p.types.length > 0) query.set('_type', p.types.join(','));
  if (p.since) query.set('_since', p.since);
  for (const f of p.typeFilters ?? []) query.append('_typeFilter', f);
  const qs = query.toString();
  return `${base}${path}${qs ? `?${qs}` : ''}`;
}

async function errorText(response: Response): Promise<string> {
  const body = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(body) as { issue?: Array<{ diagnostics?: string }> };
    return parsed.issue?.[0]?.diagnostics ?? `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

/**
 * Kick-off (§Bulk Data Kick-off Request): GET with `Accept: application/fhir+json` and
 * `Prefer: respond-async`; the server answers 202 with the status URL in `Content-Location`.
 */
export async function kickOffExport(fetch: FetchLike, url: string): Promise<string> {
  const response = await fetch(url, { headers: { accept: 'application/fhir+json', prefer: 'respond-async' } });
  if (response.status !== 202) throw new BulkDataError(`export kick-off refused: ${await errorText(response)}`, response.status);
  await response.body?.cancel();
  const location = response.headers.get('content-location');
  if (!location) throw new BulkDataError('export kick-off answered 202 without Content-Location');
  return new URL(location, url).toString();
}

/** Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date), clamped. */
export function retryAfterSeconds(header: string | null, fallback: number, max = 120): number {
  if (!header) return fallback;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) return fallback;
  return Math.min(max, Math.max(0, seconds));
}

/**
 * Polls the status URL (§Bulk Data Status Request) until the manifest: 202 → wait `Retry-After`
 * (the IG asks clients to honour it; exponential back-off when absent), 429 likewise, 200 → the
 * manifest, 4xx/5xx → {@link BulkDataError}. `onProgress` gets the `X-Progress` text.
 */
export async function pollExport(
  fetch: FetchLike,
  statusUrl: string,
  options: { sleep?: (ms: number) => Promise<void>; onProgress?: (text: string) => void; timeoutMs?: number } = {},
): Promise<ExportManifest> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (options.timeoutMs ?? 24 * 3_600_000);
  let backoff = 1;
  for (;;) {
    const response = await fetch(statusUrl, { headers: { accept: 'application/json' } });
    if (response.status === 200) {
      const manifest = (await response.json()) as Partial<ExportManifest>;
      if (typeof manifest.transactionTime !== 'string' || !Array.isArray(manifest.output)) {
        throw new BulkDataError('export manifest lacks transactionTime or output');
      }
      return {
        transactionTime: manifest.transactionTime,
        request: manifest.request ?? '',
        requiresAccessToken: manifest.requiresAccessToken === true,
        output: manifest.output,
        error: manifest.error ?? [],
      };
    }
    if (response.status !== 202 && response.status !== 429) {
      throw new BulkDataError(`export failed: ${await errorText(response)}`, response.status);
    }
    await response.body?.cancel();
    const progress = response.headers.get('x-progress');
    if (progress) options.onProgress?.(progress);
    if (Date.now() > deadline) throw new BulkDataError('export did not complete in time');
    await sleep(retryAfterSeconds(response.headers.get('retry-after'), backoff) * 1000);
    backoff = Math.min(backoff * 2, 60);
  }
}

/**
 * Streams one NDJSON file resource by resource (§File Request): the body is decoded and split
 * on newlines as it arrives, so memory holds one line at a time, never the file. The access token
 * is sent only when the manifest says `requiresAccessToken` (the fetch passed in carries it).
 */
export async function* streamNdjson(fetch: FetchLike, url: string): AsyncGenerator<Resource> {
  const response = await fetch(url, { headers: { accept: 'application/fhir+ndjson' } });
  if (!response.ok || !response.body) throw new BulkDataError(`export file download failed: HTTP ${response.status}`, response.status);
  const decoder = new TextDecoder();
  let carry = '';
  let lineNumber = 0;
  const parse = (line: string): Resource | undefined => {
    lineNumber++;
    if (line.trim() === '') return undefined;
    try {
      return JSON.parse(line) as Resource;
    } catch {
      throw new BulkDataError(`export file line ${lineNumber} is not JSON`);
    }
  };
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    carry += decoder.decode(chunk, { stream: true });
    let newline = carry.indexOf('\n');
    while (newline >= 0) {
      const resource = parse(carry.slice(0, newline));
      carry = carry.slice(newline + 1);
      if (resource) yield resource;
      newline = carry.indexOf('\n');
    }
  }
  carry += decoder.decode();
  const last = parse(carry);
  if (last) yield last;
}
