import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Test files that each run for tens of seconds on a 2-core machine (kill -9 and resume at full
 * size, several server processes). Vitest orders a run by its results cache, which a fresh clone
 * (and CI) does not have; it then starts the largest files first, and these short files started
 * last, so the run ended with one of them running alone. Starting them first lets the many short
 * files fill the other worker meanwhile.
 */
export const SLOW_TEST_FILES: readonly string[] = [
  'test/integration/backfill/backfill-resume.test.ts',
  'test/integration/faults/kill-nine-under-load.test.ts',
  'test/integration/scale-out/three-workers.test.ts',
  'test/integration/faults/ehr-flaky-and-dead-letter.test.ts',
  'test/integration/faults/kill-nine.test.ts',
  'test/integration/faults/dimse-kill-nine.test.ts',
  'test/unit/writeback/r4-type-index.test.ts',
  'test/integration/faults/hl7v2-kill-nine.test.ts',
];

/** Vitest's own order, with {@link SLOW_TEST_FILES} moved to the front in that order. */
export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const i = SLOW_TEST_FILES.findIndex((f) => spec.moduleId.replaceAll('\\', '/').endsWith(f));
      return i === -1 ? SLOW_TEST_FILES.length : i;
    };
    // Array.prototype.sort is stable: files not in the list keep vitest's order.
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}
