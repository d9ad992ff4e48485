import type { Bundle, OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { FhirRepository } from '@medplum/fhir-router';
import { parseSearchRequest } from '@medplum/core';
import type { FhirDefinitions } from './fhir-definitions.js';
import { outcomeOf } from './error-outcome.js';

/** A search-style reference such as `Organization?identifier=sys|123` (R4 http.html#trules). */
const CONDITIONAL_REFERENCE = /^[A-Z][A-Za-z]+\?.+/;

/**
 * Prepares a batch/transaction Bundle before the router processes it:
 * 1. resolves conditional references (FHIR R4 §3.1.0.11.2 "Conditional References": a reference
 *    of the form `Type?search` is replaced by the one resource the search matches; in a
 *    transaction no match or several matches fail the whole Bundle), which `@medplum/fhir-router`
 *    does not do;
 * 2. for transactions, validates every entry resource up front so an invalid entry yields one
 *    400 whose `issue.expression` points into the Bundle (`Bundle.entry[3].resource.status`).
 * Mutates `bundle` in place (references). Returns an `OperationOutcome` when the Bundle must be
 * rejected.
 */
export async function preprocessBundle(
  bundle: Bundle,
  repo: FhirRepository,
  definitions: FhirDefinitions,
): Promise<OperationOutcome | undefined> {
  const transaction = bundle.type === 'transaction';
  const cache = new Map<string, string[]>();
  const entries = bundle.entry ?? [];
  for (let i = 0; i < entries.length; i++) {
    const resource = entries[i]?.resource;
    if (!resource) continue;
    const failure = await resolveConditionalReferences(resource, `Bundle.entry[${i}].resource`, repo, cache, transaction);
    if (failure) return failure;
  }
  if (!transaction) return undefined;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const method = entry?.request?.method;
    if (!entry?.resource || (method !== 'POST' && method !== 'PUT')) continue;
    const outcome = definitions.validate(entry.resource);
    if (outcome) return rebaseOutcome(outcome, entry.resource.resourceType, `Bundle.entry[${i}].resource`);
  }
  return undefined;
}

/**
 * Rewrites issue expressions from resource-relative (`Observation.status`) to Bundle-relative
 * (`Bundle.entry[2].resource.status`).
 */
export function rebaseOutcome(outcome: OperationOutcome, resourceType: string, base: string): OperationOutcome {
  const rebase = (expression: string): string =>
    expression === resourceType
      ? base
      : expression.startsWith(`${resourceType}.`) || expression.startsWith(`${resourceType}[`)
        ? `${base}${expression.slice(resourceType.length)}`
        : expression;
  return {
    ...outcome,
    issue: outcome.issue.map((issue: OperationOutcomeIssue) => ({
      ...issue,
      ...(issue.expression ? { expression: issue.expression.map(rebase) } : {}),
    })),
  };
}

async function resolveConditionalReferences(
  node: unknown,
  path: string,
  repo: FhirRepository,
  cache: Map<string, string[]>,
  strict: boolean,
): Promise<OperationOutcome | undefined> {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const failure = await resolveConditionalReferences(node[i], `${path}[${i}]`, repo, cache, strict);
      if (failure) return failure;
    }
    return undefined;
  }
  if (typeof node !== 'object' || node === null) return undefined;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key === 'reference' && typeof value === 'string' && CONDITIONAL_REFERENCE.test(value)) {
      let matches = cache.get(value);
      if (!matches) {
        const search = parseSearchRequest(value);
        search.count = 2;
        const found: Resource[] = await repo.searchResources(search);
        matches = found.map((resource) => `${resource.resourceType}/${resource.id}`);
        cache.set(value, matches);
      }
      if (matches.length === 1 && matches[0]) {
        record[key] = matches[0];
      } else if (strict) {
        return outcomeOf(
          matches.length === 0 ? 'not-found' : 'multiple-matches',
          `Conditional reference matched ${matches.length === 0 ? 'no' : 'more than one'} resource`,
          `${path}.reference`,
        );
      }
    } else if (typeof value === 'object' && value !== null) {
      const failure = await resolveConditionalReferences(value, `${path}.${key}`, repo, cache, strict);
      if (failure) return failure;
    }
  }
  return undefined;
}
