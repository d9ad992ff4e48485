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
 * through URLs found in FHIR data such as `ImagingStudy.endpoint` or `Attachment.url`). Redirects
 * go through {@link createRedirectGuardedFetch}: every hop is checked against the same allow-list,
 * and the EHR's credentials never follow a redirect to another origin.
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
  const base = createRedirectGuardedFetch({ fetch: options.fetch ?? fetch, allowList: options.allowList });
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

/** Thrown when a redirect chain is longer than the hop limit. */
export class TooManyRedirectsError extends Error {
  constructor(readonly url: string, readonly hops: number) {
    super(`Outbound call to ${new URL(url).host} refused: more than ${hops} redirects`);
    this.name = 'TooManyRedirectsError';
  }
}

/** Most redirects one outbound call follows (the Fetch Standard's own limit is 20; ours is tighter). */
export const MAX_REDIRECTS = 5;

/** Headers that carry credentials and must never reach another origin (Fetch Standard §4.4 HTTP-redirect fetch, step 13). */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** An allow-list of exactly the origin of `url`: the default for calls to one configured endpoint. */
export function sameOriginAllowList(url: string | URL): AllowList {
  const origin = new URL(url).origin;
  return {
    allows(candidate) {
      try {
        const parsed = new URL(candidate);
        return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === origin;
      } catch {
        return false;
      }
    },
  };
}

/**
 * Wraps `fetch` so redirects are followed by hand (`redirect: 'manual'`) and every hop is checked
 * before any byte is sent to it: the `Location` must be on the allow-list (by default: the origin
 * of the first URL), at most {@link MAX_REDIRECTS} hops, and credential headers are dropped when
 * the origin changes. Without this, the runtime's fetch follows a 302 from an allow-listed host to
 * any host (SSRF through redirects) and re-sends our `Authorization` there.
 *
 * Method rewriting follows the Fetch Standard §4.4: 303 (and 301/302 after a POST) become a GET
 * without body; 307/308 keep method and body (bodies here are strings or buffers, so re-sendable).
 */
export function createRedirectGuardedFetch(options: {
  fetch?: FetchLike;
  /** Every hop (including the first) must be allowed; default: the first URL's origin only. */
  allowList?: AllowList;
  maxRedirects?: number;
}): FetchLike {
  const base = options.fetch ?? fetch;
  const maxRedirects = options.maxRedirects ?? MAX_REDIRECTS;
  return async (input, init) => {
    const first = typeof input === 'string' ? input : input.toString();
    const allowList = options.allowList ?? sameOriginAllowList(first);
    let url = first;
    let method = (init?.method ?? 'GET').toUpperCase();
    let body = init?.body;
    const headers = new Headers(init?.headers);
    for (let hop = 0; ; hop++) {
      if (!allowList.allows(url)) throw new OutboundNotAllowedError(url);
      const response = await base(url, { ...init, method, body, headers, redirect: 'manual' });
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || location === null) return response;
      await response.body?.cancel().catch(() => undefined);
      if (hop >= maxRedirects) throw new TooManyRedirectsError(first, maxRedirects);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new OutboundNotAllowedError(url);
      }
      if (next.origin !== new URL(url).origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
      if (response.status === 303 ? method !== 'HEAD' : (response.status === 301 || response.status === 302) && method === 'POST') {
        method = 'GET';
        body = undefined;
        headers.delete('content-type');
        headers.delete('content-length');
      }
      url = next.toString();
    }
  };
}
