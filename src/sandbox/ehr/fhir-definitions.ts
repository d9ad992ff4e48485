import type { OperationOutcome, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { OperationOutcomeError, normalizeOperationOutcome, validateResource } from '@medplum/core';
import { ensureR4DefinitionsIndexed } from '../../writeback/index-r4-definitions.js';

/**
 * The FHIR R4 definitions the sandbox validates writes against, as a value passed to whoever needs
 * it (no module-level singleton in this project).
 *
 * Caveat, by design of `@medplum/core`: its schema index, which `validateResource`,
 * `matchesSearchRequest` and FHIRPath read, is global to the process. Its one writer is
 * `ensureR4DefinitionsIndexed` (idempotent, issue #22 point 4); two sandboxes and any number of
 * profile validators in one process therefore share that (read-only after loading) index.
 */
export interface FhirDefinitions {
  /**
   * Validates a resource against the R4 base StructureDefinitions.
   * @returns `undefined` when valid, otherwise an `OperationOutcome` whose issues carry the exact
   *   element path in `expression` (FHIR R4 §2.1.0.4 OperationOutcome.issue.expression).
   */
  validate(resource: Resource): OperationOutcome | undefined;
}

/**
 * Indexes the R4 definitions (once per process, see {@link FhirDefinitions}) and returns a
 * validator over them. `profiles`: the fhir-fusion StructureDefinitions when the caller already
 * read them (see `ensureR4DefinitionsIndexed`); read from `fhir-profiles/` otherwise.
 */
export function loadFhirDefinitions(profiles?: readonly StructureDefinition[]): FhirDefinitions {
  ensureR4DefinitionsIndexed(profiles);
  return {
    validate(resource: Resource): OperationOutcome | undefined {
      let outcome: OperationOutcome;
      try {
        validateResource(resource);
        return undefined;
      } catch (err) {
        outcome = err instanceof OperationOutcomeError ? err.outcome : normalizeOperationOutcome(err);
      }
      return {
        ...outcome,
        issue: outcome.issue.map((issue) =>
          issue.expression ? { ...issue, expression: issue.expression.map((e) => resolveChoicePath(resource, e)) } : issue,
        ),
      };
    },
  };
}

/**
 * Medplum reports choice elements as `value[x]`; the element path a client can act on names the
 * concrete element (`Observation.valueQuantity.value`, FHIR R4 §2.24.0.1 choice types). Walks the
 * resource along the expression and substitutes each `name[x]` with the key actually present.
 */
export function resolveChoicePath(resource: Resource, expression: string): string {
  const segments = expression.split('.');
  let node: unknown = resource;
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    if (i === 0 && segment === resource.resourceType) {
      out.push(segment);
      continue;
    }
    const match = /^([A-Za-z0-9_]+)(\[x\])?((?:\[\d+\])*)$/.exec(segment);
    if (!match || typeof node !== 'object' || node === null) {
      out.push(...segments.slice(i));
      break;
    }
    const [, name = '', choice, indexes = ''] = match;
    let key = name;
    const record = node as Record<string, unknown>;
    if (choice) {
      const found = Object.keys(record).find((k) => k.startsWith(name) && /^[A-Z]/.test(k.slice(name.length)));
      if (found) key = found;
      else key = `${name}[x]`;
    }
    out.push(`${key}${indexes}`);
    node = record[key];
    for (const index of indexes.matchAll(/\[(\d+)\]/g)) {
      node = Array.isArray(node) ? node[Number(index[1])] : undefined;
    }
  }
  return out.join('.');
}
