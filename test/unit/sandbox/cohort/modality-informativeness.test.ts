import { describe, expect, it } from 'vitest';
import { generateCohort } from '../../../../src/sandbox/cohort/index.js';
import { ofType, testOptions } from './cohort-test-helpers.js';

/** Area under the ROC curve by the Mann–Whitney U statistic (ties count one half). */
function auc(scores: number[], positive: boolean[]): number {
  const pos = scores.filter((_, i) => positive[i]);
  const neg = scores.filter((_, i) => !positive[i]);
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

describe('each modality is partly informative, together more so (acute heart failure)', () => {
  const patients = [
    ...generateCohort(
      testOptions({ patients: 1200, seed: 31, labelsOnly: true, rates: { report: 0, labValue: 0 } }),
    ),
  ];
  // The generator's signal structure: scored against the latent condition (the recorded label
  // adds the same label noise to every modality; prevalence.test.ts checks it).
  const truth = patients.map((p) => p.labels.latentConditions.acuteHeartFailure);
  // Labs: mean NT-proBNP (log).
  const lab = patients.map((p) => {
    const values = ofType(p.resources, 'Observation')
      .filter((o) => o.code.coding?.[0]?.code === '33762-6')
      .map((o) => Math.log(o.valueQuantity?.value ?? 1));
    return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  });
  // Text: how many heart-failure findings the radiology report states (not hedged, not negated).
  const text = patients.map((p) => {
    const report = ofType(p.resources, 'DiagnosticReport').find(
      (r) => r.category?.[0]?.coding?.[0]?.code === 'RAD',
    );
    const t = Buffer.from(report?.presentedForm?.[0]?.data ?? '', 'base64').toString('utf8');
    let score = 0;
    if (/enlarged|Cardiomegaly|enlargement of the cardiac/.test(t)) score++;
    if (
      /edema(?!\.)|congestion|Cephalization|fluid overload/.test(t) &&
      !/No pulmonary edema|No evidence of pulmonary vascular/.test(t)
    )
      score++;
    if (/(Small|Moderate|moderate) (left|right) pleural effusion/.test(t)) score++;
    return score;
  });

  it('gives single-modality AUCs well above chance but below certainty, and a higher combined AUC', () => {
    const labAuc = auc(lab, truth);
    const textAuc = auc(text, truth);
    expect(labAuc).toBeGreaterThan(0.7);
    expect(labAuc).toBeLessThan(0.95);
    expect(textAuc).toBeGreaterThan(0.65);
    expect(textAuc).toBeLessThan(0.95);
    // Combine on comparable scales: standardise each score, then add.
    const z = (xs: number[]) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length) || 1;
      return xs.map((x) => (x - m) / sd);
    };
    const zl = z(lab);
    const zt = z(text);
    // The text's weight is chosen on the even-indexed half and the combination scored on the odd
    // half against the better single modality there (no tuning on the evaluated patients).
    const half = (xs: readonly number[] | readonly boolean[], parity: number) => xs.filter((_, i) => i % 2 === parity);
    const combine = (w: number) => zl.map((v, i) => v + w * (zt[i] as number));
    const weights = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1];
    const fitted = weights.reduce((best, w) =>
      auc(half(combine(w), 0) as number[], half(truth, 0) as boolean[]) >
      auc(half(combine(best), 0) as number[], half(truth, 0) as boolean[])
        ? w
        : best,
    );
    const heldOut = (xs: number[]) => auc(half(xs, 1) as number[], half(truth, 1) as boolean[]);
    expect(heldOut(combine(fitted))).toBeGreaterThan(Math.max(heldOut(lab), heldOut(text)) + 0.01);
  });
});
