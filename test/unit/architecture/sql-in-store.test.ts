/**
 * All SQL lives in `src/store/` (issue #22 "One house"): everything else calls a pure builder
 * (`{ text, values }`, see `src/store/sql.ts`) or a repository function, so one folder holds every
 * statement the server runs against its schema.
 *
 * Parses every `.ts` file under `src/` outside `store/` with the TypeScript compiler and fails on a
 * `.query(…)` or `.executeSql(…)` call whose first argument is written SQL: a string literal, a
 * template literal, or a string concatenation. A call that passes a builder's `sql.text` or a
 * parameter through is not SQL written here. Pass-throughs that must stay are allow-listed below
 * with their reason.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { listTsFiles } from './source-files.js';

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** Methods that run SQL: pg's `query`, and pg-boss's `executeSql` adapter. */
const SQL_METHODS = new Set(['query', 'executeSql']);

/**
 * `file -> reason` for calls outside `store/` that may keep written SQL. Keep this short: move the
 * statement into `store/` instead of adding to it.
 */
const allowed: ReadonlyMap<string, string> = new Map<string, string>([]);

/** True for an expression that is SQL text written at the call site. */
function isWrittenSql(node: ts.Expression): boolean {
  if (ts.isParenthesizedExpression(node)) return isWrittenSql(node.expression);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) return true;
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken)
    return isWrittenSql(node.left) || isWrittenSql(node.right);
  return false;
}

/** Every `.query('…')`-style call with written SQL in `file`, as `path:line`. */
export function writtenSqlCalls(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const hits: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      SQL_METHODS.has(node.expression.name.text) &&
      node.arguments[0] !== undefined &&
      isWrittenSql(node.arguments[0])
    ) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      hits.push(`${relative(srcRoot, file).split(sep).join('/')}:${line + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return hits;
}

describe('SQL lives in src/store/', () => {
  it('finds written SQL in a call (the check can fail)', () => {
    const sample = "await pool.query('SELECT 1');\nawait client.query(`UPDATE t SET a = $1`, [1]);\nawait db.query(sql.text, sql.values);";
    expect(writtenSqlCalls(join(srcRoot, 'x/sample.ts'), sample)).toEqual(['x/sample.ts:1', 'x/sample.ts:2']);
  });

  it('has no written SQL outside store/ except the allow-listed pass-throughs', () => {
    const hits = listTsFiles(srcRoot)
      .filter((file) => !relative(srcRoot, file).startsWith(`store${sep}`))
      .flatMap((file) => writtenSqlCalls(file, readFileSync(file, 'utf8')))
      .filter((hit) => !allowed.has(hit.replace(/:\d+$/, '')));
    expect(hits).toEqual([]);
  });
});
