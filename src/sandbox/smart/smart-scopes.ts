/**
 * SMART App Launch 2.x clinical scopes (§Scopes and Launch Context, "Clinical Scope Syntax"):
 * `<patient|user|system>/<ResourceType|*>.<cruds>[?param=value]`, with the v1 forms `.read`,
 * `.write` and `.*` accepted and mapped onto v2 permissions (§"Scope Equivalence").
 */

/** A FHIR REST interaction as a SMART v2 permission letter. */
export type SmartPermission = 'c' | 'r' | 'u' | 'd' | 's';

/** One parsed resource scope. */
export interface ResourceScope {
  context: 'patient' | 'user' | 'system';
  /** Resource type or `*`. */
  resourceType: string;
  permissions: Set<SmartPermission>;
  /** Finer-grained search restriction (SMART 2 §"Finer-grained resource constraints"). */
  query: URLSearchParams | undefined;
}

const ORDER: SmartPermission[] = ['c', 'r', 'u', 'd', 's'];

/** Parses one clinical scope; undefined for non-resource scopes (`openid`, `launch/patient`, …) and malformed ones. */
export function parseResourceScope(scope: string): ResourceScope | undefined {
  const match = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)(?:\?(.*))?$/.exec(scope);
  if (!match) return undefined;
  const [, context, resourceType, perms, query] = match as unknown as [
    string,
    ResourceScope['context'],
    string,
    string,
    string | undefined,
  ];
  let permissions: SmartPermission[];
  if (perms === 'read') permissions = ['r', 's'];
  else if (perms === 'write') permissions = ['c', 'u', 'd'];
  else if (perms === '*') permissions = [...ORDER];
  else {
    // v2: letters in the order c, r, u, d, s, each at most once.
    const letters = [...perms];
    let last = -1;
    for (const letter of letters) {
      const index = ORDER.indexOf(letter as SmartPermission);
      if (index <= last) return undefined;
      last = index;
    }
    permissions = letters as SmartPermission[];
  }
  return {
    context,
    resourceType,
    permissions: new Set(permissions),
    query: query ? new URLSearchParams(query) : undefined,
  };
}

/** Whether `ceiling` (a registered scope) covers `requested` (SMART 2: a narrower scope is a subset). */
export function scopeCovers(ceiling: string, requested: string): boolean {
  if (ceiling === requested) return true;
  const wide = parseResourceScope(ceiling);
  const narrow = parseResourceScope(requested);
  if (!wide || !narrow) return false;
  if (wide.context !== narrow.context) return false;
  if (wide.resourceType !== '*' && wide.resourceType !== narrow.resourceType) return false;
  if (wide.query && (!narrow.query || wide.query.toString() !== narrow.query.toString())) return false;
  return [...narrow.permissions].every((p) => wide.permissions.has(p));
}

/** Splits a space-delimited `scope` parameter (RFC 6749 §3.3). */
export function splitScopes(scope: string | undefined): string[] {
  return (scope ?? '')
    .split(' ')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The requested scopes that some registered scope covers; the rest are silently not granted (RFC 6749 §3.3). */
export function grantableScopes(requested: string[], registered: string[]): string[] {
  return requested.filter((scope) => registered.some((ceiling) => scopeCovers(ceiling, scope)));
}

/** What a FHIR request needs: one interaction on one resource type. */
export interface RequiredAccess {
  resourceType: string;
  permission: SmartPermission;
  /** Logical id for read/update/delete of one resource. */
  id?: string;
  /** Search parameters of the request, checked against scopes with a query restriction. */
  searchParams?: URLSearchParams;
}

/**
 * The granted scopes that permit `access`. A scope with a query restriction permits only
 * searches that carry each of its parameters with the same value.
 */
export function scopesPermitting(granted: string[], access: RequiredAccess): ResourceScope[] {
  return granted
    .map(parseResourceScope)
    .filter((s): s is ResourceScope => s !== undefined)
    .filter(
      (s) =>
        (s.resourceType === '*' || s.resourceType === access.resourceType) &&
        s.permissions.has(access.permission),
    )
    .filter((s) => {
      if (!s.query) return true;
      if (access.permission !== 's' || !access.searchParams) return false;
      return [...s.query.entries()].every(([name, value]) =>
        access.searchParams?.getAll(name).includes(value),
      );
    });
}
