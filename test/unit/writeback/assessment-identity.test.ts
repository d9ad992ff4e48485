import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VersionedReference } from '../../../src/contracts/patient-record.js';
import { assessmentIdentity } from '../../../src/contracts/assessment-identity.js';

const reference = fc.record({
  resourceType: fc.constantFrom('Patient', 'Observation', 'DiagnosticReport', 'ImagingStudy'),
  id: fc.stringMatching(/^[A-Za-z0-9\-.]{1,20}$/),
  versionId: fc.option(fc.stringMatching(/^[0-9]{1,4}$/), { nil: undefined }),
});

function identity(basis: VersionedReference[], modelVersion = '1'): string {
  return assessmentIdentity({ modelName: 'tabular-risk', modelVersion, patientId: 'p1', basis });
}

describe('assessmentIdentity', () => {
  it('is a hex sha256', () => {
    expect(identity([{ resourceType: 'Observation', id: 'o1', versionId: '1' }])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on the order (or repetition) of the inputs', () => {
    fc.assert(
      fc.property(
        fc
          .array(reference, { minLength: 1, maxLength: 12 })
          .chain((basis) =>
            fc.tuple(
              fc.constant(basis),
              fc.shuffledSubarray(basis, { minLength: basis.length, maxLength: basis.length }),
            ),
          ),
        ([basis, shuffled]) => {
          expect(identity(shuffled)).toBe(identity(basis));
          expect(identity([...basis, ...basis])).toBe(identity(basis));
        },
      ),
    );
  });

  it('changes when any input version changes', () => {
    fc.assert(
      fc.property(fc.array(reference, { minLength: 1, maxLength: 8 }), fc.nat(), (basis, pick) => {
        const index = pick % basis.length;
        const changed = basis.map((r, i) =>
          i === index ? { ...r, versionId: `${r.versionId ?? '0'}9` } : r,
        );
        fc.pre(
          basis.filter((r) => r.resourceType === basis[index]?.resourceType && r.id === basis[index]?.id)
            .length === 1,
        );
        expect(identity(changed)).not.toBe(identity(basis));
      }),
    );
  });

  it('changes with the model version and name', () => {
    const basis: VersionedReference[] = [{ resourceType: 'Observation', id: 'o1', versionId: '1' }];
    expect(identity(basis, '2')).not.toBe(identity(basis, '1'));
    expect(assessmentIdentity({ modelName: 'other', modelVersion: '1', patientId: 'p1', basis })).not.toBe(
      identity(basis),
    );
  });

  it('keeps field boundaries: name "a1" version "" differs from name "a" version "1"', () => {
    const basis: VersionedReference[] = [{ resourceType: 'Patient', id: 'p', versionId: '1' }];
    expect(assessmentIdentity({ modelName: 'a1', modelVersion: '', patientId: 'p1', basis })).not.toBe(
      assessmentIdentity({ modelName: 'a', modelVersion: '1', patientId: 'p1', basis }),
    );
  });

  it('differs between patients even when their basis is identical or empty', () => {
    const basis: VersionedReference[] = [];
    expect(assessmentIdentity({ modelName: 'm', modelVersion: '1', patientId: 'a', basis })).not.toBe(
      assessmentIdentity({ modelName: 'm', modelVersion: '1', patientId: 'b', basis }),
    );
  });
});
