import { describe, expect, it } from 'vitest';
import { scoreDrafts } from '../../../src/evaluation/drafting-metrics.js';
import { mostCommonText } from '../../../src/evaluation/evaluate-drafting.js';

describe('scoreDrafts', () => {
  const normal = 'Normal heart size. No pleural effusion. No acute cardiopulmonary process.';
  const effusion = 'Normal heart size. Small right pleural effusion. No pneumothorax.';
  const cardio = 'The heart is enlarged. No pleural effusion.';

  it('counts per-finding hits, misses and hallucinations with the negation-aware extraction', () => {
    const scores = scoreDrafts(
      [
        { generated: effusion, reference: effusion }, // effusion TP
        { generated: normal, reference: cardio }, // cardiomegaly FN
        { generated: cardio, reference: normal }, // cardiomegaly FP on a normal study
        { generated: normal, reference: normal, truncated: true }, // clean normal
      ],
      'unit',
    );
    expect(scores.n).toBe(4);
    expect(scores.perFinding.effusion).toMatchObject({
      positives: 1,
      precision: { value: 1 },
      recall: { value: 1 },
      f1: { value: 1 },
    });
    expect(scores.perFinding.cardiomegaly).toMatchObject({
      positives: 1,
      precision: { value: 0 },
      recall: { value: 0 },
      f1: { value: 0 },
    });
    // Micro F1 over the main findings: TP 1, FP 1, FN 1 → 2/4.
    expect(scores.findingF1.value).toBeCloseTo(0.5, 12);
    expect(scores.normals).toBe(2);
    expect(scores.normalsClean.value).toBeCloseTo(0.5, 12);
    expect(scores.truncated).toBe(1);
    expect(scores.bleu4.ci.lower).not.toBeNull();
    // Without the image's ground truth there is no image-normal figure.
    expect(scores.imageNormals).toBeUndefined();
    expect(scores.imageNormalsClean).toBeUndefined();
  });

  it("counts as hallucinated only what neither the report nor the image's ground truth shows", () => {
    const none = new Set<never>();
    const scores = scoreDrafts(
      [
        // The report missed the cardiomegaly the film shows: the draft that names it is right.
        { generated: cardio, reference: normal, imageFindings: new Set(['cardiomegaly'] as const) },
        // Nothing in the film or the report: a named cardiomegaly is a hallucination.
        { generated: cardio, reference: normal, imageFindings: none },
        { generated: normal, reference: normal, imageFindings: none },
        { generated: normal, reference: normal, imageFindings: none },
        // Not normal by the report: not counted either way.
        { generated: normal, reference: effusion, imageFindings: new Set(['effusion'] as const) },
      ],
      'image-truth',
    );
    expect(scores.normals).toBe(4);
    expect(scores.normalsClean.value).toBeCloseTo(0.5, 12);
    expect(scores.imageNormals).toBe(3);
    expect(scores.imageNormalsClean?.value).toBeCloseTo(2 / 3, 12);
  });

  it('gives the same intervals for the same inputs (seeded bootstrap)', () => {
    const pairs = Array.from({ length: 30 }, (_, i) => ({
      generated: i % 3 ? normal : cardio,
      reference: i % 2 ? normal : cardio,
    }));
    expect(scoreDrafts(pairs, 'same')).toEqual(scoreDrafts(pairs, 'same'));
  });
});

describe('mostCommonText', () => {
  it('picks the most frequent non-null text', () => {
    expect(mostCommonText(['b', null, 'a', 'b', null, null])).toBe('b');
  });
});
