import type { SearchRequest } from '@medplum/core';
import { Operator, getSearchParameter } from '@medplum/core';

/**
 * Rewrites reference-search values into the `Type/id` form Medplum's matcher understands
 * (FHIR R4 §3.1.1.4.6 search.html#reference): a bare id (`patient=123`) becomes `Patient/123`
 * for each target type of the parameter (OR-joined when there are several), and an absolute URL
 * (`http://host/fhir/Patient/123`) its last two segments. Returns a new request; other filters
 * are untouched.
 */
export function normalizeReferenceFilters<T extends SearchRequest>(request: T): T {
  if (!request.filters?.length) return request;
  let changed = false;
  const filters = request.filters.map((filter) => {
    if (filter.operator !== Operator.EQUALS) return filter;
    const parameter = getSearchParameter(request.resourceType, filter.code);
    if (parameter?.type !== 'reference') return filter;
    const targets = parameter.target ?? [];
    const values = filter.value.split(',').flatMap((value) => {
      const parts = value.split('/').filter(Boolean);
      const history = parts.indexOf('_history');
      const trimmed = history === -1 ? parts : parts.slice(0, history);
      if (trimmed.length === 1 && trimmed[0] && targets.length > 0) return targets.map((type) => `${type}/${trimmed[0]}`);
      if (trimmed.length > 2 && /^https?:$/.test(trimmed[0] ?? '')) return [trimmed.slice(-2).join('/')];
      return [value];
    });
    const value = values.join(',');
    if (value === filter.value) return filter;
    changed = true;
    return { ...filter, value };
  });
  return changed ? { ...request, filters } : request;
}
