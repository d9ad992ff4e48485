import type { OperationOutcome } from '@medplum/fhirtypes';
import { outcome } from '../../fhir/operation-outcome.js';

/** Result of parsing outside input (CONTRIBUTING.md: typed results, never bare strings). */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; issue: OperationOutcome };

/** A failed parse naming the exact element path (`issue[].expression`). */
export function invalid<T>(expression: string, diagnostics: string): ParseResult<T> {
  return { ok: false, issue: outcome('invalid', `${expression}: ${diagnostics}`, expression) };
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
