import { describe, expect, it } from 'vitest';
import {
  bleuStats,
  corpusBleu,
  lcsLength,
  metricTokens,
  rougeL,
} from '../../../src/evaluation/text-metrics.js';

const t = metricTokens;

describe('BLEU-4', () => {
  it('is 1 for an identical candidate of at least four words', () => {
    expect(
      corpusBleu([
        bleuStats(t('no pleural effusion or pneumothorax'), t('No pleural effusion or pneumothorax.')),
      ]),
    ).toBeCloseTo(1, 12);
  });

  it('matches a hand computation with clipping and the brevity penalty', () => {
    // candidate "the heart is the heart" vs reference "the heart is enlarged today ok" (6 words):
    // unigrams: the×2 (ref 1 → clipped 1), heart×2 (clipped 1), is 1 → 3/5
    // bigrams: the-heart×2 (clipped 1), heart-is 1, is-the 0 → 2/4
    // trigrams: the-heart-is 1, heart-is-the 0, is-the-heart 0 → 1/3
    // 4-grams: the-heart-is-the 0, heart-is-the-heart 0 → 0/2 → BLEU 0 without smoothing
    const s = bleuStats(t('the heart is the heart'), t('the heart is enlarged today ok'));
    expect(s.matches).toEqual([3, 2, 1, 0]);
    expect(s.totals).toEqual([5, 4, 3, 2]);
    expect(corpusBleu([s])).toBe(0);
    // Pooled with an identical 5-word document: precisions (3+5)/(5+5), (2+4)/(4+4), (1+3)/(3+3), (0+2)/(2+2); c = 10, r = 11.
    const s2 = bleuStats(t('a b c d e'), t('a b c d e'));
    const expected =
      Math.exp(1 - 11 / 10) *
      Math.exp((Math.log(8 / 10) + Math.log(6 / 8) + Math.log(4 / 6) + Math.log(2 / 4)) / 4);
    expect(corpusBleu([s, s2])).toBeCloseTo(expected, 12);
    // Weights repeat documents: weight 2 on the first doubles its counts (11/15, 8/12, 5/9, 2/6; c = 15, r = 17).
    const weighted =
      Math.exp(1 - 17 / 15) *
      Math.exp((Math.log(11 / 15) + Math.log(8 / 12) + Math.log(5 / 9) + Math.log(2 / 6)) / 4);
    expect(corpusBleu([s, s2], [2, 1])).toBeCloseTo(weighted, 12);
  });
});

describe('ROUGE-L', () => {
  it('matches a hand computation', () => {
    // LCS("no effusion seen today", "no pleural effusion") = "no effusion" = 2; P = 2/4, R = 2/3, F = 4/7.
    expect(lcsLength(t('no effusion seen today'), t('no pleural effusion'))).toBe(2);
    expect(rougeL(t('no effusion seen today'), t('no pleural effusion'))).toBeCloseTo(4 / 7, 12);
  });

  it('is 1 for identical and 0 for disjoint or empty texts', () => {
    expect(rougeL(t('heart size is normal'), t('Heart size is normal.'))).toBe(1);
    expect(rougeL(t('cardiomegaly'), t('no effusion'))).toBe(0);
    expect(rougeL([], t('no effusion'))).toBe(0);
  });
});
