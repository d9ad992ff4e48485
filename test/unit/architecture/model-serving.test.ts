/**
 * Model serving has one home (issue #22 "One house"): ONNX Runtime is imported only by
 * `src/inference/` — the session factory, the graph verification, the golden check and the worker
 * threads. The risk models, the similar-case embedding model and the offline evaluation all open and
 * run their graphs through it, so a graph is verified, optimised and run the same way everywhere
 * and `session.run` never blocks the event loop that answers HTTP requests.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { listTsFiles } from './source-files.js';

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');
const HOME = `inference${sep}`;

/** Whether `text` imports onnxruntime-node (static import, re-export, or dynamic `import()`). */
export function importsOnnxRuntime(file: string, text: string): boolean {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  let found = false;
  const isOrt = (node: ts.Node | undefined): boolean =>
    node !== undefined && ts.isStringLiteral(node) && node.text.startsWith('onnxruntime-');
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && isOrt(node.moduleSpecifier))
      found = true;
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      isOrt(node.arguments[0])
    )
      found = true;
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('ONNX Runtime has one home: src/inference/', () => {
  it('sees static, type-only and dynamic imports of onnxruntime-node (the check can fail)', () => {
    expect(importsOnnxRuntime('a.ts', "import ort from 'onnxruntime-node';")).toBe(true);
    expect(importsOnnxRuntime('b.ts', "import type { InferenceSession } from 'onnxruntime-node';")).toBe(
      true,
    );
    expect(importsOnnxRuntime('c.ts', "const ort = await import('onnxruntime-node');")).toBe(true);
    expect(importsOnnxRuntime('d.ts', "import { x } from './onnx-runner.js'; // onnxruntime-node")).toBe(
      false,
    );
  });

  it('is imported by no file outside src/inference/', () => {
    const outside = listTsFiles(srcRoot)
      .filter((file) => !relative(srcRoot, file).startsWith(HOME))
      .filter((file) => importsOnnxRuntime(file, readFileSync(file, 'utf8')))
      .map((file) => relative(srcRoot, file).split(sep).join('/'));
    expect(outside).toEqual([]);
  });
});
