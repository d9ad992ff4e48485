import { describe, expect, it } from 'vitest';
import {
  pairedRetrievalDifference,
  pairRanks,
  recallFromRanks,
  retrievalFigures,
  retrievalIntervals,
  type PerQueryRetrieval,
} from '../../../src/evaluation/retrieval-metrics.js';

/** `n` queries; query i's own pair ranks `rank(i)` both ways; `match(i)` of its top 5 share its conditions. */
function queries(n: number, rank: (i: number) => number, match: (i: number) => number): PerQueryRetrieval {
  return {
    ecgToReportRank: Int32Array.from({ length: n }, (_, i) => rank(i)),
    reportToEcgRank: Int32Array.from({ length: n }, (_, i) => rank(i)),
    top5Match: Float64Array.from({ length: n }, (_, i) => match(i)),
  };
}

describe('retrieval metrics', () => {
  it('ranks a query’s own pair by the candidates scoring strictly higher', () => {
    // sim(i, j): query 0 finds itself first, query 1 is beaten by candidate 0, query 2 by both.
    const sim = [
      [0.9, 0.1, 0.2],
      [0.8, 0.5, 0.1],
      [0.7, 0.6, 0.3],
    ];
    expect(Array.from(pairRanks(3, (i, j) => sim[i]![j]!))).toEqual([0, 1, 2]);
    expect(recallFromRanks(Int32Array.from([0, 1, 2, 7, 12]))).toEqual({
      recallAt1: 0.2,
      recallAt5: 0.6,
      recallAt10: 0.8,
    });
  });

  it('weights queries as a bootstrap resample draws them', () => {
    const ranks = Int32Array.from([0, 20]);
    expect(recallFromRanks(ranks, [3, 1]).recallAt1).toBe(0.75);
    expect(
      retrievalFigures(
        queries(
          2,
          (i) => ranks[i]!,
          (i) => i,
        ),
        [1, 3],
      ).top5ConditionMatch,
    ).toBe(0.75);
  });

  it('gives intervals around the point figure that narrow with more queries', () => {
    const small = queries(
      100,
      (i) => (i % 4 === 0 ? 0 : 50),
      (i) => (i % 2 ? 0.6 : 0.2),
    );
    const large = queries(
      1000,
      (i) => (i % 4 === 0 ? 0 : 50),
      (i) => (i % 2 ? 0.6 : 0.2),
    );
    const a = retrievalIntervals(small, 400)['ecgToReport.recallAt1'];
    const b = retrievalIntervals(large, 400)['ecgToReport.recallAt1'];
    expect(retrievalFigures(small)['ecgToReport.recallAt1']).toBe(0.25);
    expect(a.lower!).toBeLessThan(0.25);
    expect(a.upper!).toBeGreaterThan(0.25);
    expect(b.upper! - b.lower!).toBeLessThan(a.upper! - a.lower!);
    // Seeded: the same data give the same interval.
    expect(retrievalIntervals(small, 400)['ecgToReport.recallAt1']).toEqual(a);
  });

  it('pairs the comparison: a gain on the same queries lies above zero, identical encoders differ by exactly zero', () => {
    const base = queries(
      300,
      (i) => i % 30,
      (i) => (i % 5) / 5,
    );
    const better = queries(
      300,
      (i) => (i % 30 === 0 ? 0 : (i % 30) - 1),
      (i) => (i % 5) / 5,
    );
    const gain = pairedRetrievalDifference(base, better, 400)['ecgToReport.recallAt5'];
    expect(gain.difference).toBeCloseTo(1 / 30, 10);
    expect(gain.lower).toBeGreaterThan(0);
    const tie = pairedRetrievalDifference(base, base, 400).top5ConditionMatch;
    expect(tie).toEqual({ difference: 0, lower: 0, upper: 0 });
    expect(() =>
      pairedRetrievalDifference(
        base,
        queries(
          10,
          () => 0,
          () => 0,
        ),
      ),
    ).toThrow(RangeError);
  });
});
