import { MedplumClient } from '@medplum/core';
import type { FetchLike } from '../contracts/fetch-like.js';

/**
 * A `@medplum/core` client for any FHIR R4 server. Medplum's client composes URLs as
 * `baseUrl + fhirUrlPath`; we give it the FHIR base whole and an empty path so HAPI FHIR, Epic or
 * the sandbox work the same. Caching is off: the pipeline must always see the current version.
 */
export function createEhrClient(options: { fhirBaseUrl: string; fetch: FetchLike }): MedplumClient {
  const base = options.fhirBaseUrl.endsWith('/') ? options.fhirBaseUrl : `${options.fhirBaseUrl}/`;
  return new MedplumClient({
    baseUrl: base,
    fhirUrlPath: '',
    fetch: (url: string, init?: RequestInit) => options.fetch(url, init),
    cacheTime: 0,
    autoBatchTime: 0,
    onUnauthenticated: () => undefined,
  });
}
