import type { OperationOutcome } from '@medplum/fhirtypes';

/**
 * A failure retrying cannot fix (the EHR refused the write with a 4xx, the input is invalid):
 * the job goes to the dead-letter table with the OperationOutcome instead of being retried.
 * Anything else thrown by a job is treated as transient and retried with backoff.
 */
export class PermanentJobError extends Error {
  constructor(
    message: string,
    readonly outcome: OperationOutcome,
  ) {
    super(message);
    this.name = 'PermanentJobError';
  }
}
