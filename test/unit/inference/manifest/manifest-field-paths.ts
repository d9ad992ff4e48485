import { MODALITY_ORDER } from '../../../../src/contracts/manifest-types.js';

type Schema = {
  $ref?: string;
  properties?: Record<string, Schema>;
  items?: Schema | Schema[];
  oneOf?: Schema[];
  definitions?: Record<string, Schema>;
};

/**
 * Every field path of a JSON Schema, dotted, `[]` for array items (`inputs[].role`), `$ref`s and
 * `oneOf` variants followed; an object whose properties are the four modalities, each with the same
 * schema, is written once as `<modality>`.
 */
export function schemaFieldPaths(root: Schema): string[] {
  const out = new Set<string>();
  const walk = (schema: Schema, prefix: string, seen: ReadonlySet<string>): void => {
    if (schema.$ref) {
      const name = schema.$ref.replace('#/definitions/', '');
      if (seen.has(name)) return;
      walk(root.definitions?.[name] ?? {}, prefix, new Set([...seen, name]));
      return;
    }
    for (const variant of schema.oneOf ?? []) walk(variant, prefix, seen);
    if (schema.items && !Array.isArray(schema.items)) walk(schema.items, `${prefix}[]`, seen);
    const properties = Object.entries(schema.properties ?? {});
    const keys = properties.map(([k]) => k);
    const same = new Set(properties.map(([, sub]) => JSON.stringify(sub))).size === 1;
    const perModality =
      same && keys.length === MODALITY_ORDER.length && MODALITY_ORDER.every((m) => keys.includes(m));
    for (const [key, sub] of perModality ? properties.slice(0, 1) : properties) {
      const path = `${prefix ? `${prefix}.` : ''}${perModality ? '<modality>' : key}`;
      out.add(path);
      walk(sub, path, seen);
    }
  };
  walk(root, '', new Set());
  return [...out];
}
