import type { MedplumClient } from '@medplum/core';
import type { Logger } from 'pino';
import type { Config } from '../config/config-schema.js';
import type {
  ModelMonitorHandle,
  MonitoringAlert,
  MonitoringSnapshot,
} from '../contracts/model-monitoring.js';
import type { ServedModel } from '../contracts/served-model.js';
import type { Metrics } from '../observability/create-metrics.js';
import type { Runtime } from '../runtime/open-runtime.js';
import { assessmentsWrittenAfter, inputSummariesSince } from '../store/monitoring-repository.js';
import type { Queryable } from '../store/sql.js';
import { inputDrift } from './input-drift.js';
import { labelMaturedAssessments, outcomeMetrics, outcomeRange } from './track-outcomes.js';

const DAY = 86_400_000;

/** What the monitor reads and writes. */
export interface ModelMonitorDeps {
  db: Queryable;
  /** The EHR's read client (audited like every EHR call). */
  ehr: MedplumClient;
  models: () => ServedModel[];
  metrics: Metrics;
  logger: Logger;
}

/** The `MONITORING_*` settings. */
export type ModelMonitorSettings = Pick<
  Config,
  | 'MONITORING_INTERVAL_MS'
  | 'MONITORING_LABEL_WINDOW_DAYS'
  | 'MONITORING_OUTCOME_WINDOW_DAYS'
  | 'MONITORING_DRIFT_WINDOW_DAYS'
  | 'MONITORING_MIN_CASES'
  | 'MONITORING_MAX_CALIBRATION_ERROR'
  | 'MONITORING_MAX_DRIFT_SMD'
>;

/** The configured bounds crossed in a snapshot, only where the window holds enough cases to tell. */
export function monitoringAlerts(snapshot: Omit<MonitoringSnapshot, 'alerts'>): MonitoringAlert[] {
  const { minCases, maxCalibrationError, maxDriftSmd } = snapshot.settings;
  const alerts: MonitoringAlert[] = [];
  for (const o of snapshot.outcomes) {
    const ece = o.ece.value;
    if (o.n >= minCases && ece !== null && ece > maxCalibrationError)
      alerts.push({
        kind: 'calibration',
        model: o.model,
        subject: o.display,
        value: ece,
        bound: maxCalibrationError,
      });
  }
  for (const d of snapshot.drift) {
    if (d.n >= minCases && Math.abs(d.smd) > maxDriftSmd)
      alerts.push({
        kind: 'drift',
        model: d.model,
        subject: `${d.modality}/${d.feature}`,
        value: d.smd,
        bound: maxDriftSmd,
      });
  }
  return alerts;
}

/** Sets every monitoring gauge from a snapshot; series of models, outcomes or features gone from it disappear. */
function publish(metrics: Metrics, snapshot: MonitoringSnapshot): void {
  const perOutcome = [
    metrics.monitoringAuroc,
    metrics.monitoringBrierScore,
    metrics.monitoringCalibrationError,
  ] as const;
  for (const gauge of [
    metrics.monitoringCases,
    metrics.monitoringPositiveCases,
    ...perOutcome,
    metrics.monitoringPendingAssessments,
    metrics.inputDrift,
    metrics.inputMissingRatio,
    metrics.inputOutOfDistributionRatio,
    metrics.inputWindowAssessments,
    metrics.monitoringAlert,
  ])
    gauge.reset();
  for (const o of snapshot.outcomes) {
    const labels = { model: o.model, outcome: o.outcome };
    metrics.monitoringCases.set(labels, o.n);
    metrics.monitoringPositiveCases.set(labels, o.positives);
    [o.auroc, o.brier, o.ece].forEach((estimate, k) => {
      const gauge = perOutcome[k]!;
      // An undefined statistic (one class only) is absent, not 0: 0 would read as a perfect Brier score.
      if (estimate.value !== null) gauge.set({ ...labels, statistic: 'estimate' }, estimate.value);
      if (estimate.lower !== null) gauge.set({ ...labels, statistic: 'ci95_lower' }, estimate.lower);
      if (estimate.upper !== null) gauge.set({ ...labels, statistic: 'ci95_upper' }, estimate.upper);
    });
  }
  for (const [model, n] of Object.entries(snapshot.pending))
    metrics.monitoringPendingAssessments.set({ model }, n);
  for (const [model, n] of Object.entries(snapshot.driftWindowAssessments))
    metrics.inputWindowAssessments.set({ model }, n);
  for (const d of snapshot.drift)
    metrics.inputDrift.set({ model: d.model, modality: d.modality, feature: d.feature }, d.smd);
  for (const m of snapshot.modalities) {
    metrics.inputMissingRatio.set({ model: m.model, modality: m.modality }, m.missingRatio);
    metrics.inputOutOfDistributionRatio.set(
      { model: m.model, modality: m.modality },
      m.outOfDistributionRatio,
    );
  }
  // Every served model has both series, 0 when quiet: alert rules on `== 1` need them to exist.
  const models = new Set([
    ...Object.keys(snapshot.driftWindowAssessments),
    ...snapshot.outcomes.map((o) => o.model),
  ]);
  for (const model of models)
    for (const kind of ['calibration', 'drift'] as const) metrics.monitoringAlert.set({ kind, model }, 0);
  for (const a of snapshot.alerts) metrics.monitoringAlert.set({ kind: a.kind, model: a.model }, 1);
  metrics.monitoringLastRun.set(Date.parse(snapshot.ranAt) / 1000);
}

/**
 * Model monitoring on the running server (issue 19 point 5): each run labels the assessments whose
 * label window has closed from the EHR's later Conditions, recomputes AUROC, Brier score and
 * calibration error per model and outcome over the rolling window, and input drift per feature and
 * modality over the drift window; publishes them as gauges; and raises an alert — a gauge
 * `fhir_fusion_monitoring_alert{kind,model}` = 1, a structured `warn` log line when it starts and an
 * `info` line when it clears (model, outcome or feature names and the figure only, never a patient),
 * and the operator page's banner — while a bound is crossed. Runs never overlap.
 */
export function createModelMonitor(
  deps: ModelMonitorDeps,
  settings: ModelMonitorSettings,
): ModelMonitorHandle {
  let latest: MonitoringSnapshot | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const active = new Map<string, MonitoringAlert>();
  const windows = {
    labelWindowDays: settings.MONITORING_LABEL_WINDOW_DAYS,
    outcomeWindowDays: settings.MONITORING_OUTCOME_WINDOW_DAYS,
  };

  const runNow = async (now: Date): Promise<MonitoringSnapshot> => {
    const models = deps.models();
    const labelled = await labelMaturedAssessments(deps, now, windows);
    const outcomes = await outcomeMetrics(deps.db, models, now, windows);
    const pending = await assessmentsWrittenAfter(deps.db, outcomeRange(now, windows).to);
    const drift = inputDrift(
      await inputSummariesSince(
        deps.db,
        new Date(now.getTime() - settings.MONITORING_DRIFT_WINDOW_DAYS * DAY),
      ),
      models,
    );
    const withoutAlerts = {
      ranAt: now.toISOString(),
      settings: {
        labelWindowDays: settings.MONITORING_LABEL_WINDOW_DAYS,
        outcomeWindowDays: settings.MONITORING_OUTCOME_WINDOW_DAYS,
        driftWindowDays: settings.MONITORING_DRIFT_WINDOW_DAYS,
        minCases: settings.MONITORING_MIN_CASES,
        maxCalibrationError: settings.MONITORING_MAX_CALIBRATION_ERROR,
        maxDriftSmd: settings.MONITORING_MAX_DRIFT_SMD,
      },
      labelledThisRun: labelled,
      pending,
      outcomes,
      driftWindowAssessments: drift.windowAssessments,
      drift: drift.drift,
      modalities: drift.modalities,
    };
    const snapshot: MonitoringSnapshot = { ...withoutAlerts, alerts: monitoringAlerts(withoutAlerts) };
    const crossed = new Map(snapshot.alerts.map((a) => [`${a.kind} ${a.model} ${a.subject}`, a]));
    for (const [key, a] of crossed) {
      if (!active.has(key))
        deps.logger.warn(
          { event: 'model-monitoring-alert', ...a },
          `model monitoring: ${a.kind} bound crossed`,
        );
    }
    for (const [key, a] of active) {
      if (!crossed.has(key))
        deps.logger.info(
          { event: 'model-monitoring-alert-cleared', kind: a.kind, model: a.model, subject: a.subject },
          `model monitoring: ${a.kind} back within bound`,
        );
    }
    active.clear();
    for (const [key, a] of crossed) active.set(key, a);
    publish(deps.metrics, snapshot);
    latest = snapshot;
    return snapshot;
  };

  const runOnce = (now: Date = new Date()): Promise<MonitoringSnapshot> => {
    const next = chain.then(() => runNow(now));
    chain = next.catch(() => undefined);
    return next;
  };

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const schedule = (delay: number): void => {
    if (closed || settings.MONITORING_INTERVAL_MS === 0) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) =>
          // The name only: a failed EHR search's message can carry a patient id in its URL.
          deps.logger.error(
            { event: 'model-monitoring-failed', err: { name: (err as Error).name } },
            'model monitoring run failed',
          ),
        )
        .finally(() => schedule(settings.MONITORING_INTERVAL_MS));
    }, delay);
    timer.unref();
  };
  // A first run right after start, so a restarted server shows its figures without waiting an interval.
  schedule(0);

  return {
    latest: () => latest,
    runOnce,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await chain;
    },
  };
}

/**
 * The server's monitor, from its runtime and `MONITORING_*` settings: `undefined` when
 * `MONITORING_INTERVAL_MS` is 0 (off) or no models are loaded (the intake role).
 */
export function modelMonitorOf(runtime: Runtime): ModelMonitorHandle | undefined {
  if (runtime.config.MONITORING_INTERVAL_MS === 0 || !runtime.serving) return undefined;
  return createModelMonitor(
    {
      db: runtime.pool,
      ehr: runtime.ehr,
      models: () => runtime.models(),
      metrics: runtime.metrics,
      logger: runtime.logger,
    },
    runtime.config,
  );
}
