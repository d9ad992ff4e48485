/**
 * Issue 26 lever: write-back validation in a worker thread. The worker indexes its own R4
 * definitions (through ensureR4DefinitionsIndexed) and must reach exactly the verdicts of the
 * main-thread validator — same OperationOutcome, issue for issue — for valid and invalid resources,
 * so moving it off the event loop changes nothing that is written or refused.
 */
import type { Resource, RiskAssessment } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import type { ThreadedProfileValidator } from '../../../src/writeback/threaded-validator.js';
import { startThreadedProfileValidator } from '../../../src/writeback/threaded-validator.js';
import { createProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { bundleResources, sampleResult } from './assessment-fixture.js';

const resourcesOf = (patientId: string): Resource[] => bundleResources(sampleResult(patientId));

let threaded: ThreadedProfileValidator;
const cpu: number[] = [];
beforeAll(async () => {
  threaded = await startThreadedProfileValidator({ onCpu: (ms) => cpu.push(ms) });
}, 60_000);
afterAll(async () => {
  await threaded.close();
});

describe('threaded profile validator', () => {
  it('gives the main-thread verdicts for a valid bundle and for broken resources', async () => {
    const local = createProfileValidator(ensureR4DefinitionsIndexed());
    const valid = resourcesOf('pat-1');
    const risk = valid.find((r) => r.resourceType === 'RiskAssessment') as RiskAssessment;
    const broken: Resource[] = [
      // ras-2: probability above 1 (FHIR R4 RiskAssessment invariant); a decimal given as a string; no subject.
      {
        ...risk,
        prediction: [{ ...risk.prediction?.[0], probabilityDecimal: 1.5 }],
      } as RiskAssessment,
      {
        ...risk,
        prediction: [{ ...risk.prediction?.[0], probabilityDecimal: 'high' }],
      } as unknown as RiskAssessment,
      { ...risk, subject: undefined } as unknown as RiskAssessment,
    ];
    const all = [...valid, ...broken];
    const expected = all.map((r) => local.validate(r));
    const got = await threaded.validateAll(all);
    expect(got).toEqual(expected);
    expect(got.slice(0, valid.length).every((o) => o === undefined)).toBe(true);
    expect(
      got.slice(valid.length).map((o) => o?.issue?.some((i) => i.severity === 'error') ?? false),
    ).toEqual([true, true, true]);
  });

  it('answers concurrent calls each with its own outcomes', async () => {
    const batches = ['a', 'b', 'c', 'd'].map((p) => resourcesOf(`pat-${p}`));
    const answers = await Promise.all(batches.map((b) => threaded.validateAll(b)));
    answers.forEach((a, i) => expect(a).toHaveLength(batches[i]?.length ?? -1));
    expect(answers.flat().every((o) => o === undefined)).toBe(true);
  });

  it('refuses work once closed', async () => {
    const other = await startThreadedProfileValidator();
    await other.close();
    await expect(other.validateAll(resourcesOf('pat-z'))).rejects.toThrow(/closed/);
  }, 60_000);
});
