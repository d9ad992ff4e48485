import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { FetchLike } from '../../contracts/fetch-like.js';
import { ReviewError } from './review-error.js';
import { withoutTrailingSlash } from '../../contracts/base-url.js';

/** FHIR REST calls made with the clinician's access token, so they see only what the EHR lets them. */
export interface ClinicianFhir {
  /** Reads `Type/id` or `Type/id/_history/v`. */
  read<T extends Resource>(reference: string): Promise<T>;
  /** A searchset Bundle (one page is enough for one patient's AI assessments). */
  search(resourceType: string, params: URLSearchParams): Promise<Bundle>;
  create<T extends Resource>(resource: T): Promise<T>;
  /**
   * Reads many `Type/id` references in one batch Bundle (FHIR R4 §3.1.0.11 http.html#transaction,
   * `batch` of GETs): one request instead of one per resource. Each result is the resource, or
   * `undefined` where the EHR refused or has none. An EHR without batch support gets the reads one
   * by one.
   */
  readMany(references: readonly string[]): Promise<(Resource | undefined)[]>;
  /**
   * Posts a transaction Bundle (FHIR R4 §3.1.0.11). An EHR answering 409 or 412 (a version-aware
   * update whose `ifMatch` no longer holds, §3.1.0.4.2) gives a 409 {@link ReviewError}: someone
   * changed the resource since the clinician read it.
   */
  transaction(bundle: Bundle, what: string): Promise<Bundle>;
}

/** Entries per batch Bundle: servers cap Bundle sizes, and a page never needs more in one go. */
const BATCH_MAX = 100;

/** Relative `Type/id[/_history/v]` only: a reference in EHR data never sends the token elsewhere. */
const RELATIVE_REFERENCE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** Maps the EHR's refusals onto the pages the clinician sees (RFC 6750 §3.1: 401 = token invalid or expired). */
function refusal(status: number, what: string): ReviewError {
  if (status === 401) {
    return new ReviewError(
      401,
      'Your session has expired',
      'The EHR no longer accepts this session’s access token.',
      'Open the app again from the patient chart to sign in afresh.',
    );
  }
  if (status === 409 || status === 412) {
    return new ReviewError(
      409,
      'Not saved: changed since you opened it',
      `The EHR refused to ${what} because it was changed since you opened this page (HTTP ${status}).`,
      'Reload the review page to see the current version, then decide again.',
    );
  }
  if (status === 403) {
    return new ReviewError(403, 'Not permitted', `The EHR does not allow you to ${what}.`, 'Ask your EHR administrator for access.');
  }
  return new ReviewError(502, 'The EHR could not answer', `The EHR answered HTTP ${status} when asked to ${what}.`, 'Try again in a minute.');
}

/** Creates the client for one session. */
export function createClinicianFhir(input: { iss: string; accessToken: string; fetch: FetchLike }): ClinicianFhir {
  const base = withoutTrailingSlash(input.iss);
  const headers = { authorization: `Bearer ${input.accessToken}`, accept: 'application/fhir+json' };
  const call = async <T>(url: string, what: string, init?: RequestInit): Promise<T> => {
    let response: Response;
    try {
      response = await input.fetch(url, { ...init, headers: { ...headers, ...(init?.headers as Record<string, string> | undefined) } });
    } catch (error) {
      throw new ReviewError(502, 'The EHR could not be reached', `${what}: ${(error as Error).message}`, 'Try again in a minute.');
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw refusal(response.status, what);
    }
    return (await response.json()) as T;
  };
  const client: ClinicianFhir = {
    read<T extends Resource>(reference: string) {
      if (!RELATIVE_REFERENCE.test(reference)) {
        return Promise.reject(new ReviewError(400, 'Unexpected reference', `Not a relative FHIR reference: ${reference}`));
      }
      return call<T>(`${base}/${reference}`, `read ${reference.split('/')[0] ?? 'a resource'}`);
    },
    search(resourceType, params) {
      return call<Bundle>(`${base}/${resourceType}?${params.toString()}`, `search ${resourceType}`);
    },
    create<T extends Resource>(resource: T) {
      return call<T>(`${base}/${resource.resourceType}`, `write a ${resource.resourceType}`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(resource),
      });
    },
    transaction(bundle, what) {
      return call<Bundle>(`${base}`, what, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(bundle),
      });
    },
    async readMany(references) {
      const valid = [...new Set(references.filter((r) => RELATIVE_REFERENCE.test(r)))];
      const found = new Map<string, Resource | undefined>();
      for (let i = 0; i < valid.length; i += BATCH_MAX) {
        const chunk = valid.slice(i, i + BATCH_MAX);
        const results = await readBatch(chunk);
        chunk.forEach((reference, j) => found.set(reference, results[j]));
      }
      return references.map((r) => found.get(r));
    },
  };
  async function readBatch(references: string[]): Promise<(Resource | undefined)[]> {
    const one = (reference: string) => client.read(reference).catch(() => undefined);
    if (references.length === 1) return [await one(references[0] ?? '')];
    let bundle: Bundle;
    try {
      bundle = await call<Bundle>(`${base}`, 'read several resources', {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({
          resourceType: 'Bundle',
          type: 'batch',
          entry: references.map((url) => ({ request: { method: 'GET', url } })),
        } satisfies Bundle),
      });
    } catch (error) {
      // An expired token fails every read alike; anything else may be an EHR without batch support.
      if (error instanceof ReviewError && error.status === 401) throw error;
      return Promise.all(references.map(one));
    }
    if (bundle.type !== 'batch-response' || (bundle.entry ?? []).length !== references.length) return Promise.all(references.map(one));
    // §3.1.0.11: batch-response entries are in the order of the request's entries.
    return (bundle.entry ?? []).map((e) => (e.response?.status?.startsWith('2') ? e.resource : undefined));
  }
  return client;
}
