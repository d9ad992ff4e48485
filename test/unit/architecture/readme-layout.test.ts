import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { layers } from './layers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The text of a `### heading` section, up to the next heading. */
function section(heading: string): string {
  const start = readme.indexOf(`\n### ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "### ${heading}" section`);
  const next = readme.slice(start + 1).search(/\n#{2,3} /);
  return next < 0 ? readme.slice(start) : readme.slice(start, start + 1 + next);
}

/** Issue 22: the README's map of `src/` is the code's (one layout row per folder, the enforced layers). */
describe("the README's layout and architecture match src/", () => {
  it('the layout table lists every folder under src/ in exactly one row, and no folder that is gone', () => {
    const folders = readdirSync(join(repoRoot, 'src')).filter((name) => statSync(join(repoRoot, 'src', name)).isDirectory());
    const rows = section('Layout')
      .split('\n')
      .filter((line) => line.startsWith('| `src/'));
    const named = rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`src\/([^/`]+)\/`/g)].map((m) => m[1]!));
    expect([...named].sort()).toEqual([...folders].sort());
  });

  it('the architecture diagram draws the layers the import-direction test enforces', () => {
    const diagram = /```\n([\s\S]*?)```/.exec(section('Architecture'))?.[1] ?? '';
    const rows = diagram
      .split('\n')
      .filter((line) => line.trim() !== '')
      // A row is its folders, separated by " · "; two or more spaces start its comment.
      .map((line) => (line.split(/ {2,}/)[0] ?? '').split(' · ').map((folder) => folder.trim()));
    expect(rows).toEqual(layers.map((layer) => [...layer]));
  });
});
