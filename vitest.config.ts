import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/helpers/slow-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more forks only thrash the embedded Postgres and the ONNX workers.
    maxWorkers: 2,
    // A fresh clone has no timing cache: start the few long files first (see the sequencer).
    sequence: { sequencer: SlowFirstSequencer },
    // The default reporter hides why a test of a passing file was skipped; the second one prints
    // one line per skip note (a missing Orthanc or Chromium and the command that installs it).
    reporters: ['default', './test/helpers/skip-note-reporter.ts'],
  },
});
