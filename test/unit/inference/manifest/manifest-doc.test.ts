import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_MANIFEST_SCHEMA } from '../../../../src/inference/manifest/manifest-schema.js';
import { repoRoot } from '../../../helpers/fixtures.js';
import { schemaFieldPaths } from './manifest-field-paths.js';

/**
 * docs/bring-your-own-model.md documents the manifest contract field by field (issue 19 point 6).
 * The field tables must list exactly the schema's fields, so the guide cannot drift from the schema
 * the server enforces: a new field fails this until it is documented, a removed one until its row goes.
 */
const doc = readFileSync(join(repoRoot, 'docs', 'bring-your-own-model.md'), 'utf8');

function documentedFields(): string[] {
  const start = doc.indexOf('\n## Manifest field reference');
  expect(start).toBeGreaterThan(0);
  const section = doc.slice(start);
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

describe('docs/bring-your-own-model.md field reference', () => {
  it('lists every schema field once, and nothing the schema does not have', () => {
    const schema = schemaFieldPaths(MODEL_MANIFEST_SCHEMA as never);
    const documented = documentedFields();
    expect(schema.length).toBeGreaterThan(100);
    expect(
      schema.filter((f) => !documented.includes(f)),
      'schema fields missing from the doc',
    ).toEqual([]);
    expect(
      documented.filter((f) => !schema.includes(f)),
      'doc rows that are not schema fields',
    ).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('marks exactly the schema-required fields as required', () => {
    const required = new Set(requiredPaths(MODEL_MANIFEST_SCHEMA as never));
    const start = doc.indexOf('\n## Manifest field reference');
    const wrong = [...doc.slice(start).matchAll(/^\| `([^`]+)` \|(.*)$/gm)]
      .filter(([, field, rest]) => rest!.includes('**required**') !== required.has(field!))
      .map(([, field]) => field);
    expect(wrong, 'rows whose **required** mark disagrees with the schema').toEqual([]);
  });
});

type Schema = {
  $ref?: string;
  properties?: Record<string, Schema>;
  items?: Schema | Schema[];
  oneOf?: Schema[];
  required?: readonly string[];
  definitions?: Record<string, Schema>;
};

/**
 * Fields required where their parent exists (same path notation as `schemaFieldPaths`); in a
 * `oneOf`, only what every variant requires (Platt's `a` is not required of `method: none`).
 */
function requiredPaths(root: Schema): string[] {
  const all = new Set(schemaFieldPaths(root as never));
  const named = (prefix: string, key: string): string => {
    const path = `${prefix ? `${prefix}.` : ''}${key}`;
    return all.has(path) ? path : `${prefix ? `${prefix}.` : ''}<modality>`;
  };
  const walk = (schema: Schema, prefix: string): string[] => {
    if (schema.$ref) return walk(root.definitions?.[schema.$ref.replace('#/definitions/', '')] ?? {}, prefix);
    const out: string[] = [];
    if (schema.oneOf) {
      const perVariant = schema.oneOf.map((v) => walk(v, prefix));
      out.push(...perVariant[0]!.filter((p) => perVariant.every((r) => r.includes(p))));
    }
    if (schema.items && !Array.isArray(schema.items)) out.push(...walk(schema.items, `${prefix}[]`));
    out.push(...(schema.required ?? []).map((key) => named(prefix, key)));
    for (const [key, sub] of Object.entries(schema.properties ?? {}))
      out.push(...walk(sub, named(prefix, key)));
    return out;
  };
  return walk(root, '').filter((p) => all.has(p));
}
