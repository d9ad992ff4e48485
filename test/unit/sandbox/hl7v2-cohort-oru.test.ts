import type { Observation, Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { decodeHl7Message } from '../../../src/intake/hl7v2/decode-hl7-message.js';
import { readOru } from '../../../src/intake/hl7v2/read-oru.js';
import { oruTransaction } from '../../../src/intake/hl7v2/oru-to-fhir.js';
import { identifierSystemOf } from '../../../src/intake/hl7v2/resolve-patient.js';
import { generateCohort } from '../../../src/sandbox/cohort/index.js';
import { cohortLabMessages } from '../../../src/sandbox/hl7v2/cohort-oru.js';
import { testOptions } from './cohort/cohort-test-helpers.js';

describe('sandbox HL7 v2 sender: the cohort labs as ORU^R01, read back by the v2 intake', () => {
  it('round-trips every laboratory Observation of every patient: code, value, UCUM unit, time, and the MRN', () => {
    let checked = 0;
    for (const patient of generateCohort(testOptions({ patients: 6, labelsOnly: true }))) {
      const labs = patient.resources.filter(
        (r): r is Observation =>
          r.resourceType === 'Observation' &&
          (r.category ?? []).some((c) => c.coding?.[0]?.code === 'laboratory') &&
          r.valueQuantity !== undefined,
      );
      const messages = cohortLabMessages(patient.resources, `COHORT-${patient.patientId}`);
      expect(messages.length).toBeGreaterThan(0);
      const written: Observation[] = [];
      for (const message of messages) {
        const decoded = decodeHl7Message(Buffer.from(message, 'utf8'));
        if (!decoded.ok) throw new Error(decoded.problem.text);
        const read = readOru(decoded.decoded);
        if (!read.ok) throw new Error(read.problem.text);
        expect(read.oru.warnings).toEqual([]);
        const mrn = (patient.resources[0] as Patient).identifier?.[0];
        expect(read.oru.identifiers.map((c) => [c.value, identifierSystemOf(c, {})])).toEqual([
          [mrn?.value, mrn?.system],
        ]);
        written.push(
          ...(oruTransaction(read.oru, patient.patientId, 'k').entry ?? []).map(
            (e) => e.resource as Observation,
          ),
        );
      }
      const key = (o: Observation): string =>
        JSON.stringify([
          o.code.coding?.[0]?.system,
          o.code.coding?.[0]?.code,
          o.valueQuantity?.value,
          o.valueQuantity?.code,
          o.valueQuantity?.system,
          Date.parse(o.effectiveDateTime ?? ''),
        ]);
      expect(written.map(key).sort()).toEqual(labs.map(key).sort());
      expect(
        written.every((o) => o.status === 'final' && o.subject?.reference === `Patient/${patient.patientId}`),
      ).toBe(true);
      checked += labs.length;
    }
    expect(checked).toBeGreaterThan(20);
  });
});
