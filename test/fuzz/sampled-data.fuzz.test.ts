import type { SampledData } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSampledData } from '../../src/preprocess/ecg/sampled-data.js';
import { hostileNumber, hostileValue } from './hostile-input.js';

/** A hang fails the test at this limit (vitest timeout); speed itself is never asserted. */
const HANG_LIMIT_MS = 60_000;
let tried = 0;

function expectClearResult(sd: unknown): void {
  tried++;
  const result = parseSampledData(sd as SampledData);
  if (result.ok) {
    expect(result.value.channels.length).toBeGreaterThan(0);
    expect(result.value.periodMs).toBeGreaterThan(0);
  } else {
    expect(result.detail).toMatch(/^valueSampledData/);
    expect(result.reason.length).toBeGreaterThan(0);
  }
}

const dataString = fc.oneof(
  fc.array(fc.oneof(fc.integer().map(String), fc.constantFrom('E', 'L', 'U', 'x', '1e999', '-', '0x1F', 'NaN')), { maxLength: 500 }).map((t) => t.join(' ')),
  fc.string({ maxLength: 500 }),
);

describe('fuzz: SampledData parser (src/preprocess/ecg/sampled-data.ts)', () => {
  it('never throws on hostile SampledData and names the offending element', () => {
    const sampled = fc.record(
      {
        origin: fc.oneof(fc.record({ value: fc.oneof(fc.double(), hostileNumber) }), hostileValue),
        period: fc.oneof(fc.double(), hostileNumber),
        factor: fc.oneof(fc.double(), hostileNumber),
        lowerLimit: hostileNumber,
        upperLimit: hostileNumber,
        dimensions: fc.oneof(fc.integer({ min: -3, max: 16 }), hostileNumber),
        data: fc.oneof(dataString, hostileValue),
      },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(fc.oneof(sampled, hostileValue), expectClearResult), { numRuns: 5000 });
  }, HANG_LIMIT_MS);

  it('handles wrong lengths and huge payloads with a clear answer', () => {
    const base = { origin: { value: 0 }, period: 2, dimensions: 12 };
    expectClearResult({ ...base, data: '1 2 3' });
    expectClearResult({ ...base, dimensions: 2 ** 31, data: '1 2' });
    // One intake body's worth (INTAKE_MAX_BODY_BYTES default, 1 MiB) of samples and of digits.
    expectClearResult({ ...base, dimensions: 1, data: '7 '.repeat(524_288) });
    expectClearResult({ ...base, dimensions: 1, data: '9'.repeat(1_048_576) });
    console.log(`SampledData parser: ${tried} inputs tried`);
    expect(tried).toBeGreaterThan(5000);
  }, HANG_LIMIT_MS);
});
