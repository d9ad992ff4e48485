/**
 * The structure of a Backport IG notification Bundle, ignoring ids, timestamps, URLs and the
 * content of focus resources: entry layout, request methods, response statuses, parameter and
 * part names, and the value[x] type of each parameter.
 */
export function notificationShape(value: unknown): unknown {
  return shape(value, '');
}

const KEEP_VALUE = new Set(['resourceType', 'name', 'type', 'method', 'status', 'relation', 'mode']);

function shape(value: unknown, key: string): unknown {
  if (Array.isArray(value)) return value.map((item) => shape(item, key));
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (key === 'resource' && record.resourceType !== 'Parameters') return { resourceType: 'focus-or-context' };
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(record).sort()) {
      if (k === 'id' || k === 'timestamp') continue;
      out[k] = shape(record[k], k);
    }
    return out;
  }
  if (KEEP_VALUE.has(key) && typeof value === 'string') return value;
  return typeof value;
}

/** Parameter names of the first entry's Parameters, in order, with part names. */
export function parameterNames(bundle: { entry?: Array<{ resource?: unknown }> }): string[] {
  const parameters = (bundle.entry?.[0]?.resource as { parameter?: Array<{ name: string; part?: Array<{ name: string }> }> })?.parameter ?? [];
  return parameters.map((p) => (p.part ? `${p.name}(${p.part.map((q) => q.name).join(',')})` : p.name));
}
