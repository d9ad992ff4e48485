import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRestHookResource } from '../../src/intake/parse-rest-hook.js';
import { deeplyNested, hostileValue } from './hostile-input.js';

/** A hang fails the test at this limit (vitest timeout); speed itself is never asserted. */
const HANG_LIMIT_MS = 60_000;
let tried = 0;

function expectClearResult(raw: Buffer): void {
  tried++;
  const result = parseRestHookResource(raw, 'rest-hook-post');
  if (!result.ok) {
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.status).toBeLessThan(500);
    expect(result.outcome.resourceType).toBe('OperationOutcome');
    expect(result.outcome.issue?.[0]?.diagnostics?.length ?? 0).toBeGreaterThan(0);
  } else {
    expect(result.value.patientId).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
  }
}

describe('fuzz: rest-hook notification parser (src/intake/parse-rest-hook.ts)', () => {
  it('answers random bytes, random JSON and mutated resources with a 4xx OperationOutcome or a valid event, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => expectClearResult(Buffer.from(bytes))),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => expectClearResult(Buffer.from(JSON.stringify(value) ?? 'null'))),
      { numRuns: 1500 },
    );
    const resource = fc.record(
      {
        resourceType: fc.oneof(fc.constantFrom('Observation', 'DiagnosticReport', 'ImagingStudy', 'Patient'), hostileValue),
        id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9\-.]{1,64}$/), hostileValue),
        subject: fc.oneof(fc.record({ reference: fc.oneof(fc.string(), fc.constant('Patient/p1'), hostileValue) }), hostileValue),
        meta: hostileValue,
        status: hostileValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(resource, (r) => expectClearResult(Buffer.from(JSON.stringify(r)))),
      { numRuns: 3000 },
    );
  }, HANG_LIMIT_MS);

  it('refuses deeply nested, truncated and huge-number bodies with a clear outcome', () => {
    for (const depth of [1_000, 10_000, 100_000]) expectClearResult(Buffer.from(deeplyNested(depth)));
    const valid = JSON.stringify({ resourceType: 'Observation', id: 'o1', subject: { reference: 'Patient/p1' }, valueQuantity: { value: 1e308 } });
    for (let cut = 0; cut < valid.length; cut++) expectClearResult(Buffer.from(valid.slice(0, cut)));
    expectClearResult(Buffer.from(`{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"},"x":${'9'.repeat(100_000)}}`));
    console.log(`notification parser: ${tried} inputs tried`);
    expect(tried).toBeGreaterThan(6000);
  }, HANG_LIMIT_MS);
});
