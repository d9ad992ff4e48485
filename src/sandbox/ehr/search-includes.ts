import type { Reference, Resource } from '@medplum/fhirtypes';
import type { SearchRequest } from '@medplum/core';
import { evalFhirPath, getReferenceString, getSearchParameter } from '@medplum/core';

/** Read access to the current resources, by type and by id. */
export interface ResourceLookup {
  /** Every current resource of a type. */
  all(resourceType: string): Iterable<Resource>;
  /** One current resource, if present. */
  get(resourceType: string, id: string): Resource | undefined;
}

/**
 * Resources named by `_include` and `_revinclude` (FHIR R4 §3.1.1.5.4 search.html#include) for a
 * page of matches, each once and never one already in the page. `_include=Type:param[:target]`
 * follows the references in `param`; `_revinclude=Type:param` finds resources of `Type` whose
 * `param` points at a match. `:iterate` is not supported.
 */
export function collectIncludes(page: readonly Resource[], request: SearchRequest, lookup: ResourceLookup): Resource[] {
  if (!request.include?.length && !request.revInclude?.length) return [];
  const seen = new Set(page.map((resource) => `${resource.resourceType}/${resource.id}`));
  const out: Resource[] = [];
  const add = (resource: Resource | undefined): void => {
    if (!resource) return;
    const key = `${resource.resourceType}/${resource.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(resource);
  };
  const readRef = (reference: string): Resource | undefined => {
    const [type, id] = reference.split('/');
    if (!type || !id) return undefined;
    return lookup.get(type, id);
  };
  for (const include of request.include ?? []) {
    const expression = getSearchParameter(include.resourceType, include.searchParam)?.expression;
    if (!expression) continue;
    for (const resource of page) {
      if (resource.resourceType !== include.resourceType) continue;
      for (const value of evalFhirPath(expression, resource)) {
        const reference = (value as Reference | undefined)?.reference;
        if (typeof reference !== 'string') continue;
        if (include.targetType && !reference.startsWith(`${include.targetType}/`)) continue;
        add(readRef(reference));
      }
    }
  }
  for (const revInclude of request.revInclude ?? []) {
    const expression = getSearchParameter(revInclude.resourceType, revInclude.searchParam)?.expression;
    if (!expression) continue;
    const targets = new Set(page.map((resource) => getReferenceString(resource)));
    for (const candidate of lookup.all(revInclude.resourceType)) {
      for (const value of evalFhirPath(expression, candidate)) {
        const reference = (value as Reference | undefined)?.reference;
        if (typeof reference === 'string' && targets.has(reference)) {
          add(candidate);
          break;
        }
      }
    }
  }
  return out;
}
