import type { Reporter, TestModule } from 'vitest/node';

/**
 * Vitest's default reporter lists the tests of a passing file only in verbose mode, so a test
 * skipped with `ctx.skip(note)` (a missing peer, see `test/helpers/peers.ts`) would go unnoticed.
 * This reporter prints one line per distinct note at the end of the run:
 * `↓ 3 tests skipped: Orthanc not found (/usr/sbin/Orthanc): install … with \`npm run setup:peers\``.
 */
export default class SkipNoteReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const counts = new Map<string, number>();
    for (const module of testModules) {
      for (const test of module.children.allTests('skipped')) {
        const result = test.result();
        if (result.state === 'skipped' && result.note) counts.set(result.note, (counts.get(result.note) ?? 0) + 1);
      }
    }
    for (const [note, count] of counts) {
      process.stdout.write(`\u2193 ${count} test${count === 1 ? '' : 's'} skipped: ${note}\n`);
    }
  }
}
