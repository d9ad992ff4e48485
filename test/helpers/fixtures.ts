import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Repository root. */
export const repoRoot = resolve(here, '..', '..');

/** Folder of the third-party test data the repository owns (origins and licences in its NOTICE.md). */
export const thirdPartyFixtureDir = join(repoRoot, 'test', 'fixtures', 'third-party');

/**
 * Path of a file under `test/fixtures/third-party/`: real third-party data (HL7 Backport IG examples,
 * Synthea Bundles, DICOM test files, PhysioNet ECGs) that the repository carries so that a fresh
 * clone tests with nothing beside it. Throws when the file is missing, naming the path.
 */
export function thirdPartyFixture(...parts: string[]): string {
  const path = join(thirdPartyFixtureDir, ...parts);
  if (!existsSync(path)) throw new Error(`third-party fixture not found: ${path} (see test/fixtures/third-party/NOTICE.md)`);
  return path;
}
