import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parserProperties } from './parser-properties.js';

/** A hang fails the test at this limit (vitest timeout); speed itself is never asserted. */
const HANG_LIMIT_MS = 60_000;

describe('fuzz: HL7 v2 parser and MLLP framer (src/intake/hl7v2)', () => {
  it(
    'answers shaped, damaged and random messages with an ACK that parses back (AA/AE/AR), never a throw',
    () => {
      fc.assert(parserProperties['hl7v2-message'], { numRuns: 3000 });
    },
    HANG_LIMIT_MS,
  );

  it(
    'returns exactly the payloads of a framed stream cut at any points',
    () => {
      fc.assert(parserProperties['mllp-framer-roundtrip'], { numRuns: 2000 });
    },
    HANG_LIMIT_MS,
  );

  it(
    'never holds more than the limit, never throws, and stays closed once the stream is broken',
    () => {
      fc.assert(parserProperties['mllp-framer-any-bytes'], { numRuns: 2000 });
    },
    HANG_LIMIT_MS,
  );
});
