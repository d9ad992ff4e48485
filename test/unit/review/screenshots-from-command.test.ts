import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory()
        ? testFiles(join(dir, e.name))
        : Promise.resolve(e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

/** A path into docs/images written as a string or as `join(…, 'docs', 'images', …)` parts. */
const DOCS_IMAGES = /docs\/images|'docs',\s*'images'/;

// Issue 25.8: running the e2e test rewrote the tracked docs/images/*.png.
describe('README screenshots come from `npm run docs:screenshots`, never from tests', () => {
  it('no test file writes under docs/images', async () => {
    const files = await testFiles('test');
    expect(files.length).toBeGreaterThan(50);
    const writers: string[] = [];
    for (const file of files) {
      if (file.endsWith('screenshots-from-command.test.ts')) continue;
      if (DOCS_IMAGES.test(await readFile(join(ROOT, file), 'utf8'))) writers.push(file);
    }
    expect(writers).toEqual([]);
  });

  it('the e2e test saves its screenshots to test-artifacts/, and docs:screenshots names an existing script that writes docs/images', async () => {
    const e2e = await readFile(join(ROOT, 'test/e2e/review-app.e2e.test.ts'), 'utf8');
    expect(e2e).toMatch(/join\(REPO_ROOT, 'test-artifacts'\)/);
    const scripts = (
      JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    const command = scripts['docs:screenshots'] ?? '';
    const script = /^tsx (\S+\.ts)$/.exec(command)?.[1];
    expect(script, command).toBeDefined();
    const text = await readFile(join(ROOT, script ?? ''), 'utf8');
    for (const image of ['review-app.png', 'similar-cases.png', 'cds-card.png'])
      expect(text).toContain(image);
    expect(text).toMatch(DOCS_IMAGES);
  });
});
