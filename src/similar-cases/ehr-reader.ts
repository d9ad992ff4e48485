import type { Resource } from '@medplum/fhirtypes';
import { withoutTrailingSlash } from '../contracts/base-url.js';
import { err, ok, type Result } from '../contracts/result.js';

/** `fetch` as the server passes it around (tests inject a fake). */
export type FetchLike = (input: string, init?: { headers?: Record<string, string> }) => Promise<Response>;

/** Result of reading one resource through the EHR with the caller's own token. */
export type ReadResult<T extends Resource> = Result<T, { status: number }>;

/**
 * Reads `Type/id` from the EHR with the caller's bearer token, so the EHR's authorization (SMART
 * scopes, patient compartment, consent) decides what this caller may see: fhir-fusion never
 * widens access with its own backend credentials (SMART App Launch 2.0 §"Access token").
 */
export async function readAsCaller<T extends Resource>(
  fetch: FetchLike,
  fhirBaseUrl: string,
  reference: string,
  bearerToken: string,
): Promise<ReadResult<T>> {
  if (!/^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(reference)) return err({ status: 400 });
  const response = await fetch(`${withoutTrailingSlash(fhirBaseUrl)}/${reference}`, {
    headers: { accept: 'application/fhir+json', authorization: `Bearer ${bearerToken}` },
  });
  if (!response.ok) {
    await response.body?.cancel();
    return err({ status: response.status });
  }
  const body = (await response.json()) as T;
  if (body.resourceType !== reference.split('/')[0]) return err({ status: 502 });
  return ok(body);
}
