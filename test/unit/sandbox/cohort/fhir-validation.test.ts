import { validateResource } from '@medplum/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCohort } from '../../../../src/sandbox/cohort/index.js';
import { ensureR4DefinitionsIndexed } from '../../../../src/writeback/index-r4-definitions.js';
import { testOptions } from './cohort-test-helpers.js';

describe('generated FHIR resources', () => {
  beforeAll(() => {
    // The index's one writer (issue #22): R4 base definitions plus Medplum's and ours.
    ensureR4DefinitionsIndexed();
  });

  it('all pass @medplum/core validateResource (every resource type, every modality)', () => {
    const seen = new Set<string>();
    let count = 0;
    for (const p of generateCohort(testOptions({ patients: 12, rates: { dataError: 0.1 } }))) {
      for (const r of p.resources) {
        seen.add(r.resourceType);
        // validateResource throws an OperationOutcomeError naming the element path on failure.
        expect(() => validateResource(r)).not.toThrow();
        count++;
      }
    }
    expect([...seen].sort()).toEqual([
      'DiagnosticReport',
      'Encounter',
      'Endpoint',
      'ImagingStudy',
      'Observation',
      'Patient',
    ]);
    expect(count).toBeGreaterThan(300);
  });

  it('the validator used here does reject a broken resource (so the test above can fail)', () => {
    expect(() => validateResource({ resourceType: 'Observation', code: { text: 'x' } } as never)).toThrow(
      /status/,
    );
  });
});
