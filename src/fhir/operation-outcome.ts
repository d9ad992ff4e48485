import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/** FHIR R4 issue-type codes used by fhir-fusion (http://hl7.org/fhir/R4/valueset-issue-type.html). */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'not-found'
  | 'not-supported'
  | 'duplicate'
  | 'too-long'
  | 'processing'
  | 'transient'
  | 'exception'
  | 'timeout'
  | 'throttled'
  | 'conflict';

/** Builds a one-issue OperationOutcome; `expression` is the FHIRPath of the offending element. */
export function outcome(
  code: IssueCode,
  diagnostics: string,
  expression?: string | string[],
  severity: OperationOutcomeIssue['severity'] = 'error',
): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, diagnostics };
  if (expression !== undefined) issue.expression = Array.isArray(expression) ? expression : [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

/** The informational outcome returned with 2xx answers. */
export function allOk(diagnostics = 'All OK'): OperationOutcome {
  return outcome('processing', diagnostics, undefined, 'information');
}

/** An error that carries the HTTP status and the OperationOutcome to send. */
export class FhirHttpError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
  ) {
    super(outcome.issue?.[0]?.diagnostics ?? `HTTP ${status}`);
    this.name = 'FhirHttpError';
  }
}

/** True if the value looks like an OperationOutcome. */
export function isOperationOutcome(value: unknown): value is OperationOutcome {
  return typeof value === 'object' && value !== null && (value as { resourceType?: unknown }).resourceType === 'OperationOutcome';
}
