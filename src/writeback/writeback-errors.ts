import type { OperationOutcome } from '@medplum/fhirtypes';

/** A resource we built failed validation; nothing was sent. Not retryable: the input must change. */
export class WritebackInvalid extends Error {
  override readonly name = 'WritebackInvalid';
  readonly retryable = false;
  constructor(readonly outcome: OperationOutcome) {
    super(`write-back bundle failed validation: ${summarise(outcome)}`);
  }
}

/** The EHR answered the transaction with a 4xx. Not retryable: sending it again gets the same answer. */
export class WritebackRejected extends Error {
  override readonly name = 'WritebackRejected';
  readonly retryable = false;
  constructor(readonly outcome: OperationOutcome) {
    super(`EHR rejected the write-back transaction: ${summarise(outcome)}`);
  }
}

/** 5xx, timeout, connection refused: the EHR could not be reached or failed. Retryable. */
export class WritebackUnavailable extends Error {
  override readonly name = 'WritebackUnavailable';
  readonly retryable = true;
  constructor(
    message: string,
    readonly outcome?: OperationOutcome,
    options?: { cause?: unknown },
  ) {
    super(`EHR unavailable for write-back: ${message}`, options);
  }
}

/** Issue codes and element paths only: diagnostics may echo resource content (patient data). */
function summarise(outcome: OperationOutcome): string {
  const parts = (outcome.issue ?? []).map(
    (i) => `${i.code}${i.expression?.length ? ` at ${i.expression.join(', ')}` : ''}`,
  );
  return parts.length > 0 ? parts.join('; ') : 'no issues given';
}
