import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SLOW_TEST_FILES } from '../helpers/slow-first-sequencer.js';

describe('the slow-first test order', () => {
  it('names only test files that exist (a renamed file would silently lose its head start)', () => {
    for (const file of SLOW_TEST_FILES) expect(existsSync(file), file).toBe(true);
  });
});
