import type { Resource } from '@medplum/fhirtypes';
import type { Filter, SearchRequest } from '@medplum/core';
import { Operator, getSearchParameter } from '@medplum/core';

/**
 * Elements whose tokens are indexed, as FHIRPath paths below the resource. These are what
 * conditional creates (`ifNoneExist=identifier=…`, `_tag=…`) and duplicate checks search on;
 * without an index each such search scans every resource of the type, which makes loading N
 * assessments cost O(N²).
 */
const TOKEN_PATHS = ['identifier', 'masterIdentifier', 'meta.tag', 'meta.security'] as const;

/**
 * An inverted index over the sandbox's current resources, so that the searches a pipeline makes
 * per patient look at a handful of candidates instead of every resource of the type:
 * - reference targets (`Observation?subject=Patient/1`, `?patient=1`);
 * - tokens of identifiers, tags and security labels (`RiskAssessment?identifier=sys|v`,
 *   `Provenance?_tag=sys|v`).
 *
 * Candidates are a superset of the matches (a reference may sit in another element; token keys
 * are compared case-insensitively); the caller still runs the full matcher on each.
 */
export class SearchIndex {
  /** resourceType → key → ids of resources of that type carrying it. */
  private readonly byKey = new Map<string, Map<string, Set<string>>>();
  /** `Type/id` → keys indexed for that resource (for removal). */
  private readonly keysOf = new Map<string, string[]>();

  /** Indexes (or re-indexes) the current version of a resource. */
  put(resource: Resource): void {
    if (!resource.id) return;
    this.remove(resource.resourceType, resource.id);
    const keys = new Set<string>();
    collectReferenceKeys(resource, keys);
    collectTokenKeys(resource, keys);
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
   * Candidate ids for a search, or `undefined` when no filter can use the index (`_id`, a plain
   * equality on a reference-type search parameter, or on a token parameter over the indexed
   * elements). Comma-separated values are ORed (R4 §3.1.1.5.5); several indexable filters are
   * intersected.
   */
  candidates(request: SearchRequest): Set<string> | undefined {
    let result: Set<string> | undefined;
    for (const filter of request.filters ?? []) {
      const keys = this.filterKeys(request.resourceType, filter);
      if (!keys) continue;
      let ids: Set<string>;
      if (keys === 'ids') ids = new Set(filter.value.split(','));
      else {
        ids = new Set();
        const byKey = this.byKey.get(request.resourceType);
        for (const key of keys) for (const id of byKey?.get(key) ?? []) ids.add(id);
      }
      result = result ? new Set([...result].filter((id) => ids.has(id))) : ids;
    }
    return result;
  }

  /** The index keys a filter's values map to, `'ids'` for `_id`, `undefined` when not indexable. */
  private filterKeys(resourceType: string, filter: Filter): string[] | 'ids' | undefined {
    if (filter.operator !== Operator.EQUALS) return undefined;
    if (filter.code === '_id') return 'ids';
    const parameter = getSearchParameter(resourceType, filter.code);
    if (parameter?.type === 'reference') return filter.value.split(',').map(referenceKey);
    if (parameter?.type !== 'token' || filter.value.includes('\\')) return undefined;
    const paths = tokenPaths(resourceType, parameter.expression);
    if (!paths) return undefined;
    const keys: string[] = [];
    for (const value of filter.value.split(',')) {
      const bar = value.indexOf('|');
      // `system|` (any code in a system) cannot use the index (R4 §3.1.1.4.8 token).
      if (bar >= 0 && bar === value.length - 1) return undefined;
      const system = bar < 0 ? '*' : value.slice(0, bar);
      const code = bar < 0 ? value : value.slice(bar + 1);
      for (const path of paths) keys.push(tokenKey(path, system, code));
    }
    return keys;
  }
}

/**
 * The indexed paths a token search parameter's FHIRPath expression reads, or `undefined` when it
 * reads anything else (then the parameter cannot use the index). `Resource.meta.tag` and
 * `DocumentReference.masterIdentifier | DocumentReference.identifier` are typical.
 */
function tokenPaths(resourceType: string, expression: string | undefined): string[] | undefined {
  if (!expression) return undefined;
  const paths: string[] = [];
  for (const part of expression.split('|').map((p) => p.trim())) {
    const dot = part.indexOf('.');
    const root = part.slice(0, dot);
    const path = part.slice(dot + 1);
    if (dot < 0) return undefined;
    if (root !== resourceType && root !== 'Resource' && root !== 'DomainResource') continue;
    if (!(TOKEN_PATHS as readonly string[]).includes(path)) return undefined;
    paths.push(path);
  }
  return paths.length > 0 ? paths : undefined;
}

function tokenKey(path: string, system: string, code: string): string {
  return `token:${path}|${system.toLowerCase()}|${code.toLowerCase()}`;
}

/** Identifier (`system`/`value`) and Coding (`system`/`code`) tokens of the indexed paths. */
function collectTokenKeys(resource: Resource, keys: Set<string>): void {
  for (const path of TOKEN_PATHS) {
    let nodes: unknown[] = [resource];
    for (const segment of path.split('.')) {
      nodes = nodes.flatMap((n) => {
        const v = typeof n === 'object' && n !== null ? (n as Record<string, unknown>)[segment] : undefined;
        return v === undefined ? [] : Array.isArray(v) ? v : [v];
      });
    }
    for (const node of nodes) {
      if (typeof node !== 'object' || node === null) continue;
      const { system, value, code } = node as { system?: unknown; value?: unknown; code?: unknown };
      const token = typeof value === 'string' ? value : typeof code === 'string' ? code : undefined;
      if (token === undefined) continue;
      keys.add(tokenKey(path, '*', token));
      keys.add(tokenKey(path, typeof system === 'string' ? system : '', token));
    }
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
