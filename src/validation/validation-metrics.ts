import {
  sortOutcome,
  weightedAuprc,
  weightedAuroc,
  weightedBrier,
  weightedEce,
} from '../evaluation/bootstrap.js';
import type { Estimate } from '../evaluation/model-statistics.js';
import { BOOTSTRAP_RESAMPLES, bootstrapMetrics } from '../evaluation/model-statistics.js';

/** Discrimination and calibration of one outcome on one group of patients, with 95 % bootstrap CIs. */
export interface GroupMetrics {
  n: number;
  positives: number;
  auroc: Estimate;
  auprc: Estimate;
  brier: Estimate;
  /** 10 equal-width bins (binary-metrics.ts `calibrationBins`). */
  ece: Estimate;
}

/** One labelled, scored patient of one outcome. */
export interface ScoredCase {
  label: 0 | 1;
  probability: number;
  subgroups: string[];
}

/** The interval method, stated in the report. */
export const VALIDATION_METHOD = `${BOOTSTRAP_RESAMPLES} patient-level bootstrap resamples, 95 % percentile intervals, fixed seeds`;

/**
 * AUROC, AUPRC, Brier and ECE with bootstrap intervals over the same resamples, through the
 * evaluation's own weighted metrics (src/evaluation/bootstrap.ts), so a local-validation figure
 * and a model card's figure are the same computation. AUROC/AUPRC are `null` with one class only.
 */
export function groupMetrics(cases: readonly ScoredCase[], seedLabel: string): GroupMetrics {
  const d = sortOutcome(
    cases.map((c) => c.label),
    cases.map((c) => c.probability),
  );
  const [auroc, auprc, brier, ece] = bootstrapMetrics(
    d,
    (s, w) => [weightedAuroc(s, w), weightedAuprc(s, w), weightedBrier(s, w), weightedEce(s, w)],
    seedLabel,
  );
  return {
    n: cases.length,
    positives: cases.filter((c) => c.label === 1).length,
    auroc: auroc!,
    auprc: auprc!,
    brier: brier!,
    ece: ece!,
  };
}

/** Metrics overall and per subgroup (each case names the subgroups it belongs to). */
export function outcomeMetrics(
  cases: readonly ScoredCase[],
  seedLabel: string,
): { overall: GroupMetrics; subgroups: Record<string, GroupMetrics> } {
  const groups = new Map<string, ScoredCase[]>();
  for (const c of cases) {
    for (const g of c.subgroups) groups.set(g, [...(groups.get(g) ?? []), c]);
  }
  const subgroups: Record<string, GroupMetrics> = {};
  for (const name of [...groups.keys()].sort())
    subgroups[name] = groupMetrics(groups.get(name)!, `${seedLabel}/${name}`);
  return { overall: groupMetrics(cases, seedLabel), subgroups };
}
