import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/fixtures.js';
import { compiledCli } from '../../helpers/compiled-cli.js';

describe('fhir-fusion serve with bad configuration', () => {
  it('refuses to start and names every offending key', () => {
    const result = spawnSync(process.execPath, compiledCli('serve'), {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: 'eighty', FHIR_BASE_URL: 'not a url', BATCH_MAX_SIZE: '-3' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/PORT/);
    expect(result.stderr).toMatch(/FHIR_BASE_URL/);
    expect(result.stderr).toMatch(/BATCH_MAX_SIZE/);
  });
});
