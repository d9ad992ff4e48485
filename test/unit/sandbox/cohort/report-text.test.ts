import { describe, expect, it } from 'vitest';
import { generateCohort } from '../../../../src/sandbox/cohort/index.js';
import { ofType, testOptions } from './cohort-test-helpers.js';

describe('radiology report text', () => {
  const patients = [
    ...generateCohort(testOptions({ patients: 400, seed: 21, labelsOnly: true, rates: { report: 0 } })),
  ];
  const reportOf = (p: (typeof patients)[number]) =>
    ofType(p.resources, 'DiagnosticReport').find((r) => r.category?.[0]?.coding?.[0]?.code === 'RAD');
  const textOf = (p: (typeof patients)[number]) =>
    Buffer.from(reportOf(p)?.presentedForm?.[0]?.data ?? '', 'base64').toString('utf8');

  it('is a RAD DiagnosticReport with the impression in conclusion and the full text as text/plain', () => {
    for (const p of patients.slice(0, 50)) {
      const report = reportOf(p);
      expect(report?.code.coding?.[0]?.code).toMatch(/^(36643-5|36554-4)$/);
      expect(report?.presentedForm?.[0]?.contentType).toMatch(/^text\/plain/);
      const text = textOf(p);
      expect(text).toContain('FINDINGS:');
      expect(text).toContain(`IMPRESSION: ${report?.conclusion ?? 'missing'}`);
    }
  });

  it('negates consolidation in some pneumonia-negative patients and hedges some findings', () => {
    const negative = patients.filter((p) => !p.labels.latentConditions.pneumonia);
    const negated = negative.filter((p) =>
      /No focal (consolidation|airspace disease)|without focal consolidation/.test(textOf(p)),
    );
    expect(negated.length).toBeGreaterThan(negative.length / 2);
    expect(
      patients.some((p) => /Cannot exclude a small (left|right) pleural effusion\./.test(textOf(p))),
    ).toBe(true);
    expect(patients.some((p) => textOf(p).includes('Cardiomegaly with pulmonary vascular congestion.'))).toBe(
      true,
    );
  });

  it('is informative but not decisive: an opacity is described in many pneumonia patients, not all', () => {
    // The radiograph shows a consolidation in 60 % of pneumonia (latent-state.ts, after Self et
    // al. 2013) and the report states most of those; without pneumonia only atelectasis mimics it.
    const opacity = (p: (typeof patients)[number]) => /(consolidation|opacity) in the (left|right)/i.test(textOf(p));
    const positive = patients.filter((p) => p.labels.latentConditions.pneumonia);
    const negative = patients.filter((p) => !p.labels.latentConditions.pneumonia);
    const described = positive.filter(opacity).length / positive.length;
    expect(described).toBeGreaterThan(0.3);
    expect(described).toBeLessThan(0.7);
    expect(negative.filter(opacity).length / negative.length).toBeLessThan(described / 2);
  });
});
