import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** Where a benchmark's server keeps its data, and how to throw it away afterwards. */
export interface ScratchDatabase {
  /** `{ DATABASE_URL }` of a new database on the admin server, or `{ DATA_DIR }` for the embedded Postgres. */
  settings: { DATABASE_URL: string } | { DATA_DIR: string };
  drop: () => Promise<void>;
}

/**
 * A throw-away database for one benchmark run: a fresh database on the server `DATABASE_URL`
 * names (dropped afterwards), or, without it, a temporary data folder for the embedded Postgres.
 */
export async function scratchDatabase(label: string): Promise<ScratchDatabase> {
  const admin = process.env.DATABASE_URL;
  if (!admin) {
    const dir = mkdtempSync(join(tmpdir(), `ff-bench-${label}-`));
    return { settings: { DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `ff_bench_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    settings: { DATABASE_URL: url.toString() },
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Nearest-rank percentile `p` (0–100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
