import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Repository root. */
export const repoRoot = resolve(here, '..', '..');

/**
 * Path of a file under `../shared/fixtures/` (real third-party data that tests must not copy into
 * the repo). Also honours `FHIR_FUSION_SHARED` for checkouts that keep shared/ elsewhere.
 */
export function sharedFixture(...parts: string[]): string {
  const base = process.env.FHIR_FUSION_SHARED ?? resolve(repoRoot, '..', 'shared');
  const path = join(base, 'fixtures', ...parts);
  if (!existsSync(path)) throw new Error(`shared fixture not found: ${path}`);
  return path;
}
