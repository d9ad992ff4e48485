import type { MedplumClient } from '@medplum/core';
import type { Logger } from 'pino';
import type { OutcomeMonitoring } from '../contracts/model-monitoring.js';
import type { ServedModel } from '../contracts/served-model.js';
import type { OutcomeLabelRow } from '../store/monitoring-repository.js';
import {
  assessmentsToLabel,
  labelledPredictions,
  recordOutcomeLabels,
} from '../store/monitoring-repository.js';
import type { Queryable } from '../store/sql.js';
import { fetchOutcomeRecords } from './fetch-outcome-records.js';
import { labelOutcome } from './label-outcomes.js';
import { groupMetrics } from './validation-metrics.js';

const DAY = 86_400_000;
/** Assessments labelled per query; a run goes on until none is left or {@link MAX_PER_RUN}. */
const BATCH = 500;
/** Bounds the EHR searches one run makes (one per patient); the rest wait for the next run. */
const MAX_PER_RUN = 10_000;

/** The windows of outcome tracking, relative to a run's `now`. */
export interface OutcomeWindows {
  labelWindowDays: number;
  outcomeWindowDays: number;
}

/**
 * The outcome window: assessments written in `[to − outcomeWindowDays, to]`, where `to` is the
 * newest write time whose label window has closed. A negative label is only final once the label
 * window is over, so younger assessments are pending, not negatives (that would bias every metric).
 */
export function outcomeRange(now: Date, windows: OutcomeWindows): { from: Date; to: Date } {
  const to = new Date(now.getTime() - windows.labelWindowDays * DAY);
  return { from: new Date(to.getTime() - windows.outcomeWindowDays * DAY), to };
}

/**
 * Labels the assessments in the outcome window that are not labelled yet, with the same labeller
 * as `fhir-fusion validate` ({@link labelOutcome}: a Condition with the outcome's code recorded
 * after the assessment and within the label window is positive, one recorded at or before it
 * prevalent), from one Condition search per patient. Each assessment is labelled once (migration
 * 0012), so a run asks the EHR only about assessments whose window closed since the last run. A
 * patient whose search fails is retried next run. Returns how many assessments were labelled.
 */
export async function labelMaturedAssessments(
  deps: { db: Queryable; ehr: MedplumClient; logger: Logger },
  now: Date,
  windows: OutcomeWindows,
): Promise<number> {
  const range = outcomeRange(now, windows);
  let labelled = 0;
  let failedPatients = 0;
  const skipped = new Set<string>();
  while (labelled + skipped.size < MAX_PER_RUN) {
    const rows = (await assessmentsToLabel(deps.db, { ...range, limit: BATCH + skipped.size })).filter(
      (r) => !skipped.has(r.id),
    );
    if (rows.length === 0) break;
    const byPatient = new Map<string, typeof rows>();
    for (const row of rows) byPatient.set(row.patient_id, [...(byPatient.get(row.patient_id) ?? []), row]);
    const labels: OutcomeLabelRow[] = [];
    for (const [patientId, own] of byPatient) {
      let records: Awaited<ReturnType<typeof fetchOutcomeRecords>>;
      try {
        records = await fetchOutcomeRecords(
          deps.ehr,
          patientId,
          own.flatMap((r) => r.outcomes),
        );
      } catch {
        failedPatients++;
        for (const r of own) skipped.add(r.id);
        continue;
      }
      for (const row of own) {
        for (const code of row.outcomes) {
          const label = labelOutcome(records.conditions, records.encounters, code, row.created_at, {
            days: windows.labelWindowDays,
          });
          labels.push({ ledgerId: row.id, ...code, label, windowDays: windows.labelWindowDays });
        }
        labelled++;
      }
    }
    await recordOutcomeLabels(deps.db, labels);
    if (rows.length < BATCH) break;
  }
  // Counts only: the error of one patient's search can carry their id in its URL.
  if (failedPatients > 0)
    deps.logger.warn(
      { failedPatients },
      'model monitor: outcome search failed for some patients; retried next run',
    );
  return labelled;
}

/**
 * Discrimination and calibration per model and outcome over the outcome window, from the labelled
 * assessments (the latest per patient), with the same metrics and patient bootstrap as the local
 * validation report ({@link groupMetrics}). Prevalent cases are counted and left out. Models no
 * longer served are still reported (their labels are in the ledger), named by their code.
 */
export async function outcomeMetrics(
  db: Queryable,
  models: readonly ServedModel[],
  now: Date,
  windows: OutcomeWindows,
): Promise<OutcomeMonitoring[]> {
  const rows = await labelledPredictions(db, outcomeRange(now, windows));
  const groups = new Map<
    string,
    {
      model: string;
      system: string;
      code: string;
      prevalent: number;
      cases: Array<{ label: 0 | 1; probability: number; subgroups: string[] }>;
    }
  >();
  for (const r of rows) {
    const key = `${r.model} ${r.system}|${r.code}`;
    const group = groups.get(key) ?? {
      model: r.model,
      system: r.system,
      code: r.code,
      prevalent: 0,
      cases: [],
    };
    groups.set(key, group);
    if (r.label === 'prevalent') group.prevalent++;
    else
      group.cases.push({ label: r.label === 'positive' ? 1 : 0, probability: r.probability, subgroups: [] });
  }
  const out: OutcomeMonitoring[] = [];
  for (const g of [...groups.values()].sort((a, b) =>
    `${a.model} ${a.code}`.localeCompare(`${b.model} ${b.code}`),
  )) {
    const display =
      models
        .flatMap((m) => m.manifest.outcomes.map((o) => o.coding))
        .find((c) => c.system === g.system && c.code === g.code)?.display ?? g.code;
    // 2,000 bootstrap resamples: cheap at the case counts of a window, but let other work in between.
    await new Promise((resolve) => setImmediate(resolve));
    const metrics = g.cases.length > 0 ? groupMetrics(g.cases, `monitor/${g.model}/${g.code}`) : undefined;
    const none = { value: null, lower: null, upper: null };
    out.push({
      model: g.model,
      outcome: g.code,
      display,
      n: g.cases.length,
      positives: g.cases.filter((c) => c.label === 1).length,
      prevalentExcluded: g.prevalent,
      auroc: metrics?.auroc ?? none,
      brier: metrics?.brier ?? none,
      ece: metrics?.ece ?? none,
    });
  }
  return out;
}
