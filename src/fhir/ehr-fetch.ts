import type { Config } from '../config/config-schema.js';
import type { AllowList } from './outbound-fetch.js';
import type { FetchLike } from '../contracts/fetch-like.js';
import { createAllowList, createOutboundFetch } from './outbound-fetch.js';

/** Outbound HTTP for the pipeline: allow-listed, with timeouts and the EHR's auth. */
export interface EhrFetch {
  /** For FHIR calls to the EHR (and the write-back server): carries the configured auth. */
  fetch: FetchLike;
  /** For DICOMweb: same allow-list and timeouts, no EHR credentials. */
  dicomFetch: FetchLike;
  allowList: AllowList;
}

/**
 * Builds the outbound fetches from configuration. Only the configured FHIR and DICOMweb hosts are
 * reachable; a URL found in EHR data pointing elsewhere is refused before any request is made.
 * `FHIR_AUTH=bearer` sends the static token; SMART Backend Services plugs in through `authorize`.
 */
export function createEhrFetch(
  config: Config,
  base?: FetchLike,
  authorize?: { authorize: (headers: Headers) => Promise<void>; onUnauthorized: () => void },
): EhrFetch {
  const allowList = createAllowList([
    config.FHIR_BASE_URL,
    config.WRITEBACK_FHIR_BASE_URL,
    config.DICOMWEB_BASE_URL,
    ...config.DICOMWEB_ALLOWED_HOSTS,
  ]);
  const bearer = config.FHIR_AUTH === 'bearer' ? config.FHIR_BEARER_TOKEN : undefined;
  const fhirAuth =
    authorize ??
    (bearer
      ? {
          authorize: async (headers: Headers) => headers.set('authorization', `Bearer ${bearer}`),
          onUnauthorized: () => undefined,
        }
      : undefined);
  return {
    allowList,
    fetch: createOutboundFetch({
      allowList,
      timeoutMs: config.OUTBOUND_TIMEOUT_MS,
      fetch: base,
      authorize: fhirAuth?.authorize,
      onUnauthorized: authorize?.onUnauthorized,
    }),
    dicomFetch: createOutboundFetch({ allowList, timeoutMs: config.OUTBOUND_TIMEOUT_MS, fetch: base }),
  };
}
