import { describe, expect, it } from 'vitest';
import { generateCohort, prevalenceTable } from '../../../../src/sandbox/cohort/index.js';
import { LABEL_NOISE } from '../../../../src/sandbox/cohort/latent-state.js';
import { ofType, testOptions } from './cohort-test-helpers.js';

describe('prevalence over 2,000 patients (labels only)', () => {
  const patients = [...generateCohort(testOptions({ patients: 2000, seed: 11, labelsOnly: true }))];
  const labels = patients.map((p) => p.labels);
  const share = (f: (c: (typeof labels)[number]['conditions']) => boolean) =>
    labels.filter((l) => f(l.conditions)).length / labels.length;

  it('matches the default prevalence within sampling tolerance', () => {
    // Binomial sd at n = 2000 and p = 0.2 is 0.009; allow ~3.5 sd.
    expect(share((c) => c.acuteHeartFailure)).toBeGreaterThan(0.165);
    expect(share((c) => c.acuteHeartFailure)).toBeLessThan(0.23);
    expect(Math.abs(share((c) => c.pneumonia) - 0.2)).toBeLessThan(0.032);
    expect(Math.abs(share((c) => c.atrialFibrillation) - 0.15)).toBeLessThan(0.028);
  });

  it('raises the odds of heart failure with atrial fibrillation, allows co-occurrence', () => {
    const ahfGivenAf =
      labels.filter((l) => l.conditions.atrialFibrillation && l.conditions.acuteHeartFailure).length /
      labels.filter((l) => l.conditions.atrialFibrillation).length;
    const ahfGivenNoAf =
      labels.filter((l) => !l.conditions.atrialFibrillation && l.conditions.acuteHeartFailure).length /
      labels.filter((l) => !l.conditions.atrialFibrillation).length;
    expect(ahfGivenAf).toBeGreaterThan(1.5 * ahfGivenNoAf);
    expect(share((c) => c.acuteHeartFailure && c.pneumonia)).toBeGreaterThan(0);
  });

  it('honours configured prevalence', () => {
    const custom = [
      ...generateCohort(
        testOptions({
          patients: 1000,
          seed: 12,
          labelsOnly: true,
          prevalence: { pneumonia: 0.5, atrialFibrillation: 0 },
        }),
      ),
    ];
    const pna = custom.filter((p) => p.labels.latentConditions.pneumonia).length / custom.length;
    expect(Math.abs(pna - 0.5)).toBeLessThan(0.06);
    expect(custom.some((p) => p.labels.latentConditions.atrialFibrillation)).toBe(false);
    // Nobody has AF, but the recorded diagnoses carry the stated spurious-code rate.
    const spuriousAf = custom.filter((p) => p.labels.conditions.atrialFibrillation).length / custom.length;
    expect(Math.abs(spuriousAf - LABEL_NOISE.atrialFibrillation.spurious)).toBeLessThan(0.015);
  });

  it('records each diagnosis with the stated label noise (missed and spurious codes)', () => {
    for (const key of ['acuteHeartFailure', 'pneumonia', 'atrialFibrillation'] as const) {
      const present = labels.filter((l) => l.latentConditions[key]);
      const absent = labels.filter((l) => !l.latentConditions[key]);
      const missed = present.filter((l) => !l.conditions[key]).length / present.length;
      const spurious = absent.filter((l) => l.conditions[key]).length / absent.length;
      // Binomial sd of the missed share at ~300-400 patients is about 0.016; allow ~3.5 sd.
      expect(Math.abs(missed - LABEL_NOISE[key].missed)).toBeLessThan(0.055);
      expect(Math.abs(spurious - LABEL_NOISE[key].spurious)).toBeLessThan(0.015);
      expect(missed).toBeGreaterThan(0);
      expect(spurious).toBeGreaterThan(0);
    }
  });

  it('misses whole modalities at about the default rates', () => {
    const noImage =
      patients.filter((p) => ofType(p.resources, 'ImagingStudy').length === 0).length / patients.length;
    const noReport =
      patients.filter((p) => ofType(p.resources, 'DiagnosticReport').length === 0).length / patients.length;
    expect(Math.abs(noImage - 0.12)).toBeLessThan(0.03);
    expect(Math.abs(noReport - 0.1)).toBeLessThan(0.03);
  });

  it('renders a markdown prevalence table', () => {
    const table = prevalenceTable(labels);
    const lines = table.trim().split('\n');
    expect(lines[0]).toBe('| condition (n = 2000) | patients | prevalence |');
    expect(lines[1]).toBe('| --- | ---: | ---: |');
    const pnaCount = labels.filter((l) => l.conditions.pneumonia).length;
    expect(table).toContain(`| pneumonia | ${pnaCount} | ${((100 * pnaCount) / 2000).toFixed(1)} % |`);
    expect(lines).toHaveLength(8);
  });
});
