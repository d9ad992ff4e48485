import type { FetchLike } from '../contracts/fetch-like.js';

/** Thrown before any byte leaves the process when a URL's host is not allow-listed. */
export class OutboundNotAllowedError extends Error {
  constructor(readonly url: string) {
    super(`Outbound call to ${new URL(url).host} refused: host is not in the configured allow-list`);
    this.name = 'OutboundNotAllowedError';
  }
}

/** Hosts (`host` or `host:port`) that outbound calls may reach. */
export interface AllowList {
  allows(url: string | URL): boolean;
}

/** Builds an allow-list from base URLs (their host:port) and bare `host[:port]` entries. */
export function createAllowList(entries: Array<string | undefined>): AllowList {
  const hosts = new Set<string>();
  for (const entry of entries) {
    if (!entry) continue;
    if (/^[a-z]+:\/\//i.test(entry)) hosts.add(new URL(entry).host.toLowerCase());
    else hosts.add(entry.toLowerCase());
  }
  return {
    allows(url) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return false;
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
      return hosts.has(parsed.host.toLowerCase()) || hosts.has(parsed.hostname.toLowerCase());
    },
  };
}

/**
 * Wraps `fetch` so every outbound call has a timeout and only reaches allow-listed hosts (no SSRF
 * through URLs found in FHIR data such as `ImagingStudy.endpoint` or `Attachment.url`).
 */
export function createOutboundFetch(options: {
  allowList: AllowList;
  timeoutMs: number;
  fetch?: FetchLike;
  /** Adds auth headers; called per request so tokens can rotate. */
  authorize?: (headers: Headers) => Promise<void>;
  /** Called on a 401 so a cached token is dropped; the request is then retried once. */
  onUnauthorized?: () => void;
}): FetchLike {
  const base = options.fetch ?? fetch;
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input.toString();
    if (!options.allowList.allows(url)) throw new OutboundNotAllowedError(url);
    const attempt = async (): Promise<Response> => {
      const headers = new Headers(init?.headers);
      if (options.authorize) await options.authorize(headers);
      const signal = init?.signal
        ? AbortSignal.any([init.signal, AbortSignal.timeout(options.timeoutMs)])
        : AbortSignal.timeout(options.timeoutMs);
      return base(url, { ...init, headers, signal });
    };
    const response = await attempt();
    if (response.status === 401 && options.onUnauthorized) {
      options.onUnauthorized();
      return attempt();
    }
    return response;
  };
}
