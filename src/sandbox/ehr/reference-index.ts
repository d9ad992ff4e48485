import type { Resource } from '@medplum/fhirtypes';
import type { SearchRequest } from '@medplum/core';
import { Operator, getSearchParameter } from '@medplum/core';

/**
 * An inverted index from reference targets to the resources that mention them, so that the
 * searches a pipeline makes per patient (`Observation?subject=Patient/1`, `?patient=1`) look at a
 * handful of candidates instead of every resource of the type. Candidates are a superset of the
 * matches (the reference may sit in another element); the caller still runs the full matcher.
 */
export class ReferenceIndex {
  /** resourceType → key (`Type/id` or `#id`) → ids of resources of that type mentioning it. */
  private readonly byKey = new Map<string, Map<string, Set<string>>>();
  /** `Type/id` → keys indexed for that resource (for removal). */
  private readonly keysOf = new Map<string, string[]>();

  /** Indexes (or re-indexes) the current version of a resource. */
  put(resource: Resource): void {
    if (!resource.id) return;
    this.remove(resource.resourceType, resource.id);
    const keys = new Set<string>();
    collectReferenceKeys(resource, keys);
    let byKey = this.byKey.get(resource.resourceType);
    if (!byKey) {
      byKey = new Map();
      this.byKey.set(resource.resourceType, byKey);
    }
    for (const key of keys) {
      let ids = byKey.get(key);
      if (!ids) {
        ids = new Set();
        byKey.set(key, ids);
      }
      ids.add(resource.id);
    }
    this.keysOf.set(`${resource.resourceType}/${resource.id}`, [...keys]);
  }

  /** Drops a resource from the index. */
  remove(resourceType: string, id: string): void {
    const keys = this.keysOf.get(`${resourceType}/${id}`);
    if (!keys) return;
    const byKey = this.byKey.get(resourceType);
    for (const key of keys) byKey?.get(key)?.delete(id);
    this.keysOf.delete(`${resourceType}/${id}`);
  }

  /**
   * Candidate ids for a search, or `undefined` when no filter can use the index (`_id`, or a
   * plain equality on a reference-type search parameter). Comma-separated values are ORed
   * (R4 §3.1.1.5.5); several indexable filters are intersected.
   */
  candidates(request: SearchRequest): Set<string> | undefined {
    let result: Set<string> | undefined;
    for (const filter of request.filters ?? []) {
      if (filter.operator !== Operator.EQUALS) continue;
      let ids: Set<string> | undefined;
      if (filter.code === '_id') {
        ids = new Set(filter.value.split(','));
      } else if (getSearchParameter(request.resourceType, filter.code)?.type === 'reference') {
        ids = new Set();
        const byKey = this.byKey.get(request.resourceType);
        for (const value of filter.value.split(',')) {
          for (const id of byKey?.get(referenceKey(value)) ?? []) ids.add(id);
        }
      }
      if (!ids) continue;
      result = result ? new Set([...result].filter((id) => ids.has(id))) : ids;
    }
    return result;
  }
}

/** `Patient/1`, `http://x/fhir/Patient/1` and `Patient/1/_history/2` → `Patient/1`; `1` → `#1`. */
function referenceKey(reference: string): string {
  const parts = reference.split('/').filter(Boolean);
  const history = parts.indexOf('_history');
  const trimmed = history === -1 ? parts : parts.slice(0, history);
  if (trimmed.length < 2) return `#${trimmed[0] ?? ''}`;
  return `${trimmed[trimmed.length - 2]}/${trimmed[trimmed.length - 1]}`;
}

function collectReferenceKeys(node: unknown, keys: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectReferenceKeys(item, keys);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key === 'reference' && typeof value === 'string') {
      const full = referenceKey(value);
      keys.add(full);
      // A search value may name only the id (`patient=1`).
      keys.add(`#${full.slice(full.indexOf('/') + 1)}`);
    } else if (typeof value === 'object') {
      collectReferenceKeys(value, keys);
    }
  }
}
