import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  REDACTED,
  isSensitiveKey,
  redactPatientData,
} from '../../../src/observability/redact-patient-data.js';

describe('redactPatientData', () => {
  it('matches every FHIR value[x] key and the listed patient keys', () => {
    for (const key of [
      'value',
      'valueQuantity',
      'valueString',
      'valueCodeableConcept',
      'name',
      'birthDate',
      'identifier',
      'telecom',
      'address',
      'text',
      'conclusion',
      'presentedForm',
      'data',
      'authorization',
      'x-signature',
      'FHIR_BEARER_TOKEN',
    ]) {
      expect(isSensitiveKey(key), key).toBe(true);
    }
    for (const key of ['resourceType', 'id', 'status', 'code', 'count', 'durationMs', 'model', 'stage']) {
      expect(isSensitiveKey(key), key).toBe(false);
    }
  });

  it('never leaves a sensitive key with its value, at any depth, and never mutates the input', () => {
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const key = fc.oneof(
      fc.constantFrom('name', 'valueQuantity', 'birthDate', 'data', 'text'),
      fc.string({ maxLength: 6 }),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (input) => {
        const before = JSON.stringify(input);
        const output = redactPatientData(input);
        expect(JSON.stringify(input)).toBe(before);
        const visit = (value: unknown): void => {
          if (Array.isArray(value)) value.forEach(visit);
          else if (value && typeof value === 'object') {
            for (const [name, inner] of Object.entries(value)) {
              if (isSensitiveKey(name)) expect(inner).toBe(REDACTED);
              else visit(inner);
            }
          }
        };
        visit(output);
      }),
    );
  });
});
