import type { Resource } from '@medplum/fhirtypes';
import type { ClinicianFhir } from './clinician-fhir.js';

/** Reads one `Type/id`; `undefined` when the EHR refuses it or has none. */
export type BatchedRead = <T extends Resource>(reference: string | undefined) => Promise<T | undefined>;

/**
 * A reader that gathers every read asked for in the same turn of the event loop into one batch
 * Bundle ({@link ClinicianFhir.readMany}), so a page view costs a few FHIR requests however many
 * inputs an assessment has (issue 25.5: one read per input Observation made ~50 per view). Reads
 * asked for later (after an await elsewhere) form the next batch.
 */
export function createBatchedReader(fhir: ClinicianFhir): BatchedRead {
  let pending: {
    reference: string;
    resolve: (resource: Resource | undefined) => void;
    reject: (error: unknown) => void;
  }[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    fhir.readMany(batch.map((p) => p.reference)).then(
      (resources) => batch.forEach((p, i) => p.resolve(resources[i])),
      (error: unknown) => batch.forEach((p) => p.reject(error)),
    );
  };
  return <T extends Resource>(reference: string | undefined) => {
    if (!reference) return Promise.resolve(undefined);
    return new Promise<T | undefined>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ reference, resolve: resolve as (resource: Resource | undefined) => void, reject });
    });
  };
}
