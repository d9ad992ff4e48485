import type { Condition, Encounter } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { ageBand, labelOutcome } from '../../../src/validation/label-outcomes.js';

const HF = { system: 'http://snomed.info/sct', code: '56675007' };
const AS_OF = new Date('2026-01-10T00:00:00Z');
const window = { days: 30 };

function condition(partial: Partial<Condition>): Condition {
  return {
    resourceType: 'Condition',
    subject: { reference: 'Patient/p' },
    code: { coding: [{ ...HF }] },
    ...partial,
  };
}

describe('labelOutcome: the label window of fhir-fusion validate', () => {
  it('is positive for a matching Condition recorded after the assessment time and within the window', () => {
    expect(labelOutcome([condition({ recordedDate: '2026-01-12T00:00:00Z' })], [], HF, AS_OF, window)).toBe(
      'positive',
    );
    expect(labelOutcome([condition({ onsetDateTime: '2026-02-09T00:00:00Z' })], [], HF, AS_OF, window)).toBe(
      'positive',
    );
  });

  it('is negative after the window, for another code, and for a refuted or entered-in-error diagnosis', () => {
    expect(labelOutcome([condition({ recordedDate: '2026-02-10T00:00:01Z' })], [], HF, AS_OF, window)).toBe(
      'negative',
    );
    const other = condition({
      recordedDate: '2026-01-12T00:00:00Z',
      code: { coding: [{ system: HF.system, code: '1' }] },
    });
    expect(labelOutcome([other], [], HF, AS_OF, window)).toBe('negative');
    for (const status of ['refuted', 'entered-in-error']) {
      const c = condition({
        recordedDate: '2026-01-12T00:00:00Z',
        verificationStatus: { coding: [{ code: status }] },
      });
      expect(labelOutcome([c], [], HF, AS_OF, window)).toBe('negative');
    }
    expect(labelOutcome([], [], HF, AS_OF, window)).toBe('negative');
  });

  it('is prevalent when one was recorded at or before the assessment time', () => {
    const before = condition({ recordedDate: '2026-01-09T00:00:00Z' });
    const after = condition({ recordedDate: '2026-01-12T00:00:00Z' });
    expect(labelOutcome([after, before], [], HF, AS_OF, window)).toBe('prevalent');
  });

  it('dates an undated Condition by the Encounter whose diagnosis lists it', () => {
    const undated = condition({ id: 'dx1' });
    const encounter = (end: string): Encounter => ({
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'IMP' },
      period: { start: '2026-01-01T00:00:00Z', end },
      diagnosis: [{ condition: { reference: 'Condition/dx1' } }],
    });
    expect(labelOutcome([undated], [encounter('2026-01-15T00:00:00Z')], HF, AS_OF, window)).toBe('positive');
    expect(labelOutcome([undated], [encounter('2026-01-05T00:00:00Z')], HF, AS_OF, window)).toBe('prevalent');
    expect(labelOutcome([undated], [], HF, AS_OF, window)).toBe('negative');
  });

  it('bands age at the assessment time', () => {
    expect(ageBand('1946-01-10', AS_OF)).toBe('age ≥80');
    expect(ageBand('1946-01-11', AS_OF)).toBe('age 65–79');
    expect(ageBand('1980-01-01', AS_OF)).toBe('age <50');
    expect(ageBand(undefined, AS_OF)).toBe('age unknown');
  });
});
