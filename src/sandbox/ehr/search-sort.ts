import type { Resource } from '@medplum/fhirtypes';
import type { SortRule } from '@medplum/core';
import { evalFhirPath, getSearchParameter } from '@medplum/core';

/**
 * Orders two resources by FHIR `_sort` rules (R4 §3.1.1.5.3 search.html#sort): the first rule
 * decides, later rules break ties; resources without a value sort last whatever the direction.
 */
export function compareBySortRules(a: Resource, b: Resource, rules: readonly SortRule[]): number {
  for (const rule of rules) {
    const left = sortKey(a, rule.code);
    const right = sortKey(b, rule.code);
    if (left === right) continue;
    if (left === undefined) return 1;
    if (right === undefined) return -1;
    const order = typeof left === 'number' && typeof right === 'number' ? left - right : String(left).localeCompare(String(right));
    if (order !== 0) return rule.descending ? -order : order;
  }
  return 0;
}

/** The comparable value of a search parameter on a resource (first value of its expression). */
function sortKey(resource: Resource, code: string): string | number | undefined {
  if (code === '_id') return resource.id;
  if (code === '_lastUpdated') return resource.meta?.lastUpdated;
  const expression = getSearchParameter(resource.resourceType, code)?.expression;
  if (!expression) return undefined;
  const [first] = evalFhirPath(expression, resource);
  if (first === undefined || first === null) return undefined;
  if (typeof first === 'number' || typeof first === 'string') return first;
  if (typeof first === 'object') {
    // Period → start, Quantity → value, otherwise a stable textual form.
    const value = first as { start?: string; value?: number; end?: string };
    if (typeof value.start === 'string') return value.start;
    if (typeof value.value === 'number') return value.value;
    if (typeof value.end === 'string') return value.end;
  }
  return JSON.stringify(first);
}
