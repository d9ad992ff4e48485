/**
 * A throw-away Postgres for `npm run container:smoke` on a machine without one at 127.0.0.1:5432:
 * the embedded Postgres (real binaries from npm) in a fresh folder, listening on loopback so a
 * container on the host network reaches it. Prints `DATABASE_ADMIN_URL=postgres://…/postgres` once
 * up, then runs until SIGTERM/SIGINT, when it stops the cluster and removes the folder.
 *   node --import tsx scripts/smoke-postgres.ts PORT
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/observability/create-logger.js';
import { startEmbeddedPostgres } from '../src/store/embedded-postgres.js';

const port = Number(process.argv[2] ?? '18632');
const dataDir = await mkdtemp(join(tmpdir(), 'fhir-fusion-smoke-postgres-'));
// Run as root, the embedded Postgres runs as user `postgres`, which must be able to enter the folder.
await chmod(dataDir, 0o711);
const server = await startEmbeddedPostgres({
  dataDir,
  port,
  database: 'postgres',
  logger: createLogger({ level: 'warn' }),
});
console.log(`DATABASE_ADMIN_URL=${server.url}`);
await new Promise<void>((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
await server.stop();
await rm(dataDir, { recursive: true, force: true });
// Exit explicitly, as src/cli/index.ts does: embedded-postgres's own exit hook would otherwise run
// again on the way out, after the cluster is already stopped.
process.exit(0);
