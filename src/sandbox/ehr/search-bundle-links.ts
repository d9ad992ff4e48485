import type { Bundle, BundleLink, Resource } from '@medplum/fhirtypes';

/**
 * Completes a searchset Bundle for HTTP: absolute `fullUrl` on every entry and the paging links
 * `self`, `first`, `previous`, `next` (FHIR R4 §3.1.1.6 search.html#paging; `_offset` is the
 * paging cursor, as in Medplum and HAPI).
 * @param bundle - the repository's searchset.
 * @param baseUrl - absolute FHIR base, no trailing slash.
 * @param path - the request path relative to the base (e.g. `Observation`).
 * @param query - the request's query parameters.
 * @param count - page size used.
 */
export function addSearchLinks(
  bundle: Bundle,
  baseUrl: string,
  path: string,
  query: URLSearchParams,
  count: number,
): Bundle {
  const offset = Math.max(0, Number.parseInt(query.get('_offset') ?? '0', 10) || 0);
  const pageUrl = (pageOffset: number): string => {
    const params = new URLSearchParams(query);
    params.set('_count', String(count));
    params.set('_offset', String(pageOffset));
    return `${baseUrl}/${path}?${params.toString()}`;
  };
  const link: BundleLink[] = [{ relation: 'self', url: pageUrl(offset) }, { relation: 'first', url: pageUrl(0) }];
  if (offset > 0 && count > 0) link.push({ relation: 'previous', url: pageUrl(Math.max(0, offset - count)) });
  if (count > 0 && bundle.total !== undefined && offset + count < bundle.total) {
    link.push({ relation: 'next', url: pageUrl(offset + count) });
  }
  return { ...bundle, link, entry: bundle.entry?.map((entry) => ({ ...entry, fullUrl: fullUrlOf(baseUrl, entry.resource) })) };
}

/** Absolute URL of a stored resource, or `undefined` when it has no id. */
export function fullUrlOf(baseUrl: string, resource: Resource | undefined): string | undefined {
  return resource?.id ? `${baseUrl}/${resource.resourceType}/${resource.id}` : undefined;
}
