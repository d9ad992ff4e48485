import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Issue 18.6: a test run that is killed (no global teardown) must not leave its embedded Postgres running. */
describe('embedded Postgres for tests', () => {
  it('is stopped and removed when the process running it gets SIGTERM', async () => {
    const script = `
      import { readFileSync } from 'node:fs';
      import { startEmbeddedPostgresForTests } from './test/helpers/embedded-postgres-for-tests.ts';
      const pg = await startEmbeddedPostgresForTests();
      const port = new URL(pg.url).port;
      console.log(JSON.stringify({ port }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const match = /"port":"(\d+)"/.exec(d.toString());
        if (match) resolve(match[1]!);
      });
      child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
    });
    // The postmaster is found by the lock file of its socket (named after the port).
    const lock = `/tmp/.s.PGSQL.${port}.lock`;
    const pid = existsSync(lock) ? Number(readFileSync(lock, 'utf8').split('\n')[0]) : 0;
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(true);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
  }, 120_000);
});
