import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { OperationOutcomeError, getStatus } from '@medplum/core';

/** An HTTP status and the `OperationOutcome` body that explains it. */
export interface HttpOutcome {
  status: number;
  outcome: OperationOutcome;
}

/** Builds a one-issue `OperationOutcome` (FHIR R4 §2.1.0.4 OperationOutcome). */
export function outcomeOf(
  code: OperationOutcomeIssue['code'],
  text: string,
  expression?: string,
  severity: OperationOutcomeIssue['severity'] = 'error',
): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity, code, details: { text }, ...(expression ? { expression: [expression] } : {}) }],
  };
}

/**
 * Maps anything thrown while handling a FHIR request to a status and an `OperationOutcome`:
 * Medplum's `OperationOutcomeError` keeps its own status; fastify errors (bad JSON, unsupported
 * media type, body too large) keep their 4xx; anything else is a 500 with no internal detail.
 */
export function errorToOutcome(err: unknown): HttpOutcome {
  if (err instanceof OperationOutcomeError) return { status: getStatus(err.outcome), outcome: err.outcome };
  const statusCode = (err as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    const message = err instanceof Error ? err.message : 'Bad request';
    const code: OperationOutcomeIssue['code'] =
      statusCode === 401 ? 'login' : statusCode === 403 ? 'forbidden' : statusCode === 404 ? 'not-found' : statusCode === 413 ? 'too-costly' : statusCode === 415 ? 'not-supported' : 'invalid';
    return { status: statusCode, outcome: outcomeOf(code, message) };
  }
  return { status: 500, outcome: outcomeOf('exception', 'Internal server error') };
}
