import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StageClock } from './stage-clock.js';
import { createDisabledStageClock, createStageClock } from './stage-clock.js';

/**
 * Every metric family the server exports, created up front so `/metrics` lists them all from the
 * first scrape (Prometheus alerting on absent series needs the series to exist). Names follow the
 * Prometheus naming guide: `fhir_fusion_` prefix, base units, `_total` on counters.
 */
export interface Metrics {
  /** This instance's registry; serve `registry.metrics()` with `registry.contentType`. */
  registry: Registry;
  /** Notifications received, by payload dialect (e.g. `r4-backport`, `r5`). */
  notificationsReceived: Counter<'dialect'>;
  /** Notifications stored in the inbox and acknowledged. */
  notificationsAccepted: Counter;
  /** Byte-identical redeliveries inside the replay window: acknowledged 200, nothing stored (issue 18.5). */
  notificationsRedelivered: Counter;
  /** Notifications refused, by reason (e.g. `auth`, `malformed`, `too-large`). */
  notificationsRejected: Counter<'reason'>;
  /** Inbox rows not yet turned into jobs. */
  inboxDepth: Gauge;
  /** Job state transitions (e.g. `created`, `completed`, `failed`, `retried`). */
  jobs: Counter<'state'>;
  /** Time spent per pipeline stage, in seconds. */
  stageSeconds: Histogram<'stage'>;
  /** FHIR HTTP requests needed to assemble one patient. */
  fhirRoundTrips: Histogram;
  /** 1 for the execution provider each model actually runs on, 0 otherwise. */
  executionProvider: Gauge<'model' | 'provider'>;
  /** Write-back transactions by outcome. */
  writebacks: Counter<'outcome'>;
  /** Jobs that exhausted their retries. */
  deadLetters: Counter;
  /** Events recovered by polling after a missed notification (Subscriptions Backport IG `$events`). */
  missedEventRecoveries: Counter;
  /** Clinician feedback on CDS Hooks cards, by outcome (`accepted`, `overridden`, …). */
  cdsFeedback: Counter<'outcome'>;
  /** Assessed patients offered to the similar-case index, by outcome (`indexed`, `no-ecg`, `ecg-unusable`, `failed`). */
  similarCasesIndexed: Counter<'outcome'>;
  /** Messages third-party decoders tried to print (kept off stderr), by library and level. */
  libraryMessages: Counter<'library' | 'level'>;
  /** Inputs refused by preprocessing (decode failures, input-contract mismatches), by modality and reason. */
  inputRefusals: Counter<'modality' | 'reason'>;
  /** Outcomes written as "not assessed" instead of a probability (issue #17), by reason. */
  outcomesNotAssessed: Counter<'reason'>;
  /** Preprocessed-tensor cache lookups (issue #26), by modality and result (hit, miss). */
  tensorCacheLookups: Counter<'modality' | 'result'>;
  /** Model monitor (issue 19 point 5): labelled cases per model and outcome (SNOMED CT code) in the rolling window. */
  monitoringCases: Gauge<'model' | 'outcome'>;
  /** Of those, positives. */
  monitoringPositiveCases: Gauge<'model' | 'outcome'>;
  /** AUROC over the rolling window; `statistic` is estimate, ci95_lower or ci95_upper. */
  monitoringAuroc: Gauge<'model' | 'outcome' | 'statistic'>;
  /** Brier score over the rolling window (same `statistic` label). */
  monitoringBrierScore: Gauge<'model' | 'outcome' | 'statistic'>;
  /** 10-bin expected calibration error over the rolling window (same `statistic` label). */
  monitoringCalibrationError: Gauge<'model' | 'outcome' | 'statistic'>;
  /** Assessments whose label window has not closed, per model. */
  monitoringPendingAssessments: Gauge<'model'>;
  /** Standardised mean difference of each input feature, drift window vs training split. */
  inputDrift: Gauge<'model' | 'modality' | 'feature'>;
  /** Share of the drift window's assessments in which a modality was missing (any reason). */
  inputMissingRatio: Gauge<'model' | 'modality'>;
  /** Share of the drift window's assessments in which a modality was refused as out of distribution. */
  inputOutOfDistributionRatio: Gauge<'model' | 'modality'>;
  /** Assessments in the drift window, per model. */
  inputWindowAssessments: Gauge<'model'>;
  /** 1 while a configured monitoring bound is crossed, by kind (calibration, drift) and model. */
  monitoringAlert: Gauge<'kind' | 'model'>;
  /** When the monitor last finished a run, Unix time in seconds. */
  monitoringLastRun: Gauge;
  /** Main-thread time per pipeline stage (issue 26); measures only with `STAGE_CPU_ACCOUNTING`. */
  stageClock: StageClock;
}

/** Latency buckets from 5 ms to 2 min: assembly and write-back are network-bound, inference is not. */
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const ROUND_TRIP_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64];

/**
 * A fresh registry with Node process metrics and every fhir-fusion family. Each call is
 * independent (never prom-client's global registry), so tests and several app instances in one
 * process do not collide.
 */
export function createMetrics(options: { stageCpuAccounting?: boolean } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fhir_fusion_' });
  const registers = [registry];
  const counter = <L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Counter<L> =>
    new Counter<L>({ name, help, registers, ...(labelNames ? { labelNames } : {}) });
  const gauge = <L extends string = string>(name: string, help: string, labelNames?: readonly L[]): Gauge<L> =>
    new Gauge<L>({ name, help, registers, ...(labelNames ? { labelNames } : {}) });
  return {
    registry,
    notificationsReceived: counter('fhir_fusion_notifications_received_total', 'Subscription notifications received, by payload dialect.', ['dialect']),
    notificationsAccepted: counter('fhir_fusion_notifications_accepted_total', 'Subscription notifications stored in the inbox and acknowledged.'),
    notificationsRedelivered: counter('fhir_fusion_notifications_redelivered_total', 'Byte-identical redeliveries inside the replay window, acknowledged without storing anything.'),
    notificationsRejected: counter('fhir_fusion_notifications_rejected_total', 'Subscription notifications refused, by reason.', ['reason']),
    inboxDepth: gauge('fhir_fusion_inbox_depth', 'Inbox rows not yet turned into jobs.'),
    jobs: counter('fhir_fusion_jobs_total', 'Per-patient job state transitions.', ['state']),
    stageSeconds: new Histogram({
      name: 'fhir_fusion_stage_seconds',
      help: 'Time spent per pipeline stage.',
      labelNames: ['stage'] as const,
      buckets: STAGE_BUCKETS,
      registers,
    }),
    fhirRoundTrips: new Histogram({
      name: 'fhir_fusion_fhir_round_trips_per_patient',
      help: 'FHIR HTTP requests made to assemble one patient record.',
      buckets: ROUND_TRIP_BUCKETS,
      registers,
    }),
    executionProvider: gauge('fhir_fusion_execution_provider', '1 for the execution provider each model runs on.', ['model', 'provider']),
    writebacks: counter('fhir_fusion_writebacks_total', 'Write-back transactions, by outcome (created, exists, failed).', ['outcome']),
    deadLetters: counter('fhir_fusion_dead_letters_total', 'Jobs that exhausted their retries.'),
    missedEventRecoveries: counter('fhir_fusion_missed_event_recoveries_total', 'Events recovered after a gap in subscription notifications.'),
    cdsFeedback: counter('fhir_fusion_cds_feedback_total', 'Clinician feedback on CDS Hooks cards, by outcome.', ['outcome']),
    similarCasesIndexed: counter('fhir_fusion_similar_cases_indexed_total', 'Assessed patients offered to the similar-case index, by outcome.', ['outcome']),
    libraryMessages: counter('fhir_fusion_library_messages_total', 'Messages DICOM libraries tried to print, routed away from stderr, by library and level.', ['library', 'level']),
    inputRefusals: counter('fhir_fusion_input_refusals_total', 'Inputs preprocessing refused (undecodable, or outside the model input contract), by modality and reason.', ['modality', 'reason']),
    outcomesNotAssessed: counter('fhir_fusion_outcomes_not_assessed_total', 'Outcomes written as not assessed (no probability) because the input was too little or a required input unusable, by reason.', ['reason']),
    tensorCacheLookups: counter('fhir_fusion_tensor_cache_lookups_total', 'Preprocessed image/ECG tensor cache lookups, by modality and result (hit: no decode).', ['modality', 'result']),
    monitoringCases: gauge('fhir_fusion_monitoring_cases', 'Labelled assessments (latest per patient) in the outcome window, by model and outcome code.', ['model', 'outcome']),
    monitoringPositiveCases: gauge('fhir_fusion_monitoring_positive_cases', 'Labelled assessments in the outcome window whose outcome occurred, by model and outcome code.', ['model', 'outcome']),
    monitoringAuroc: gauge('fhir_fusion_monitoring_auroc', 'AUROC over the outcome window; statistic is estimate, ci95_lower or ci95_upper (patient bootstrap).', ['model', 'outcome', 'statistic']),
    monitoringBrierScore: gauge('fhir_fusion_monitoring_brier_score', 'Brier score over the outcome window; statistic is estimate, ci95_lower or ci95_upper.', ['model', 'outcome', 'statistic']),
    monitoringCalibrationError: gauge('fhir_fusion_monitoring_calibration_error', '10-bin expected calibration error over the outcome window; statistic is estimate, ci95_lower or ci95_upper.', ['model', 'outcome', 'statistic']),
    monitoringPendingAssessments: gauge('fhir_fusion_monitoring_pending_assessments', 'Assessments whose outcome label window has not closed yet, by model.', ['model']),
    inputDrift: gauge('fhir_fusion_input_drift_smd', 'Standardised mean difference of an input feature, drift window against the training split, in training standard deviations.', ['model', 'modality', 'feature']),
    inputMissingRatio: gauge('fhir_fusion_input_missing_ratio', 'Share of assessments in the drift window in which the modality was missing (any reason).', ['model', 'modality']),
    inputOutOfDistributionRatio: gauge('fhir_fusion_input_out_of_distribution_ratio', 'Share of assessments in the drift window in which the modality was refused as out of distribution.', ['model', 'modality']),
    inputWindowAssessments: gauge('fhir_fusion_input_window_assessments', 'Assessments in the drift window, by model.', ['model']),
    monitoringAlert: gauge('fhir_fusion_monitoring_alert', '1 while a configured monitoring bound is crossed, by kind (calibration, drift) and model.', ['kind', 'model']),
    monitoringLastRun: gauge('fhir_fusion_monitoring_last_run_timestamp_seconds', 'When the model monitor last finished a run, in Unix seconds.'),
    stageClock: options.stageCpuAccounting ? createStageClock() : createDisabledStageClock(),
  };
}
