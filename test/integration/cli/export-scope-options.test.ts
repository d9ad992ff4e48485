import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXPORT_SCOPE_OPTIONS, parseExportScope } from '../../../src/cli/export-scope-options.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { compiledCli } from '../../helpers/compiled-cli.js';

function scopeOf(args: string[]) {
  return parseExportScope(parseArgs({ args, options: EXPORT_SCOPE_OPTIONS }).values);
}

describe('the Bulk Data export scope of backfill and validate', () => {
  it('defaults to patient level and passes --group and --since through', () => {
    expect(scopeOf([])).toEqual({
      ok: true,
      value: { level: 'patient', groupId: undefined, since: undefined },
    });
    expect(scopeOf(['--level', 'group', '--group', 'g1', '--since', '2026-01-01T00:00:00Z'])).toEqual({
      ok: true,
      value: { level: 'group', groupId: 'g1', since: '2026-01-01T00:00:00Z' },
    });
  });

  it('refuses an unknown level and a group level without its Group', () => {
    expect(scopeOf(['--level', 'ward'])).toEqual({
      ok: false,
      message: '--level must be system, patient or group',
    });
    expect(scopeOf(['--level', 'group'])).toEqual({
      ok: false,
      message: '--group ID is required with --level group',
    });
  });

  it('makes fhir-fusion print the message alone and exit 2 (usage), before touching any database or EHR', () => {
    const result = spawnSync(
      process.execPath,
      compiledCli('validate', '--level', 'group'),
      {
        cwd: repoRoot,
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe('--group ID is required with --level group');
  });
});
