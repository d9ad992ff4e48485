import type { OperationOutcome } from '@medplum/fhirtypes';
import { err, type Err } from '../../contracts/result.js';
import { outcome } from '../../fhir/operation-outcome.js';

/**
 * How a CDS Hooks input fails (CONTRIBUTING.md: typed results, never bare strings): the
 * OperationOutcome naming the element; the route picks the HTTP status (CDS Hooks 2.0 §"Error").
 */
export interface InvalidCdsInput {
  issue: OperationOutcome;
}

/** A failed parse naming the exact element path (`issue[].expression`). */
export function invalid(expression: string, diagnostics: string): Err<InvalidCdsInput> {
  return err({ issue: outcome('invalid', `${expression}: ${diagnostics}`, expression) });
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
