/**
 * One writer of @medplum's type index (issue #22 "One house", point 4). `@medplum/core` keeps
 * StructureDefinitions and search parameters in process-global module state; several writers with
 * different guards made the index depend on which ran first. Only
 * `src/writeback/index-r4-definitions.ts` (`ensureR4DefinitionsIndexed`, called by the composition
 * root and the sandbox factory) may call the functions that write it — in `src/` and in the tests.
 * `test/unit/writeback/r4-type-index.test.ts` checks the behaviour: validators and sandboxes
 * created in any order validate the same bundle the same way 1,000 times.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { listTsFiles } from './source-files.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const OWNER = 'src/writeback/index-r4-definitions.ts';

/** The `@medplum/core` exports that write the process-global index. */
const INDEX_WRITERS = new Set([
  'indexStructureDefinitionBundle',
  'indexSearchParameterBundle',
  'indexSearchParameter',
  'indexDefaultSearchParameters',
  'loadDataType',
  // Returns the index's own data-type map, which the caller can then write.
  'getAllDataTypes',
]);

/** Index writers `text` takes from @medplum/core: named imports, and any namespace or dynamic import's member use. */
export function indexWritersUsed(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = new Set<string>();
  const namespaces = new Set<string>();
  const isCore = (node: ts.Node | undefined): boolean =>
    node !== undefined && ts.isStringLiteral(node) && node.text === '@medplum/core';
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && isCore(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          const imported = (element.propertyName ?? element.name).text;
          if (INDEX_WRITERS.has(imported)) found.add(imported);
        }
      } else if (bindings && ts.isNamespaceImport(bindings)) namespaces.add(bindings.name.text);
    }
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      isCore(node.arguments[0])
    )
      namespaces.add('*');
    if (
      ts.isPropertyAccessExpression(node) &&
      INDEX_WRITERS.has(node.name.text) &&
      (namespaces.has('*') || (ts.isIdentifier(node.expression) && namespaces.has(node.expression.text)))
    )
      found.add(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...found].sort();
}

describe("@medplum's type index has one writer", () => {
  it('sees named, renamed and namespace uses of the index writers (the check can fail)', () => {
    expect(
      indexWritersUsed('a.ts', "import { loadDataType, validateResource } from '@medplum/core';"),
    ).toEqual(['loadDataType']);
    expect(
      indexWritersUsed('b.ts', "import { indexSearchParameterBundle as idx } from '@medplum/core';"),
    ).toEqual(['indexSearchParameterBundle']);
    expect(
      indexWritersUsed(
        'c.ts',
        "import * as core from '@medplum/core';\ncore.indexStructureDefinitionBundle(b);",
      ),
    ).toEqual(['indexStructureDefinitionBundle']);
    expect(indexWritersUsed('d.ts', "import { loadDataType } from './elsewhere.js';")).toEqual([]);
  });

  it(`is written only by ${OWNER}, in src/ and in the tests`, () => {
    const writers = [...listTsFiles(join(repoRoot, 'src')), ...listTsFiles(join(repoRoot, 'test'))]
      .map((file) => ({
        file: relative(repoRoot, file).split(sep).join('/'),
        used: indexWritersUsed(file, readFileSync(file, 'utf8')),
      }))
      .filter((w) => w.used.length > 0);
    expect(writers).toEqual([
      {
        file: OWNER,
        used: [
          'getAllDataTypes',
          'indexSearchParameterBundle',
          'indexStructureDefinitionBundle',
          'loadDataType',
        ],
      },
    ]);
  });
});
