import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parserProperties } from './parser-properties.js';

/** A hang fails the test at this limit (vitest timeout); speed itself is never asserted. */
const HANG_LIMIT_MS = 60_000;

describe('fuzz: Backport IG notification bundles (src/intake/parse-backport-delivery.ts, backport-notification.ts)', () => {
  it('answers valid, mutated and random bundles with a value or a 4xx OperationOutcome, never a throw', () => {
    fc.assert(parserProperties['backport-delivery'], { numRuns: 3000 });
  }, HANG_LIMIT_MS);

  it('keeps the rest-hook contract with text Postgres cannot store anywhere in the resource', () => {
    fc.assert(parserProperties['rest-hook'], { numRuns: 2000 });
  }, HANG_LIMIT_MS);
});
