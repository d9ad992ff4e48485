import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Pipeline stages timed by {@link Metrics.stageSeconds}. */
export type PipelineStage = 'assembly' | 'preprocess' | 'inference' | 'writeback' | 'end-to-end';

/** Outcomes of one write-back transaction. */
export type WritebackOutcome = 'created' | 'exists' | 'failed';

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
}

/** Latency buckets from 5 ms to 2 min: assembly and write-back are network-bound, inference is not. */
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const ROUND_TRIP_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64];

/**
 * A fresh registry with Node process metrics and every fhir-fusion family. Each call is
 * independent (never prom-client's global registry), so tests and several app instances in one
 * process do not collide.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fhir_fusion_' });
  const registers = [registry];
  return {
    registry,
    notificationsReceived: new Counter({
      name: 'fhir_fusion_notifications_received_total',
      help: 'Subscription notifications received, by payload dialect.',
      labelNames: ['dialect'] as const,
      registers,
    }),
    notificationsAccepted: new Counter({
      name: 'fhir_fusion_notifications_accepted_total',
      help: 'Subscription notifications stored in the inbox and acknowledged.',
      registers,
    }),
    notificationsRedelivered: new Counter({
      name: 'fhir_fusion_notifications_redelivered_total',
      help: 'Byte-identical redeliveries inside the replay window, acknowledged without storing anything.',
      registers,
    }),
    notificationsRejected: new Counter({
      name: 'fhir_fusion_notifications_rejected_total',
      help: 'Subscription notifications refused, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    inboxDepth: new Gauge({
      name: 'fhir_fusion_inbox_depth',
      help: 'Inbox rows not yet turned into jobs.',
      registers,
    }),
    jobs: new Counter({
      name: 'fhir_fusion_jobs_total',
      help: 'Per-patient job state transitions.',
      labelNames: ['state'] as const,
      registers,
    }),
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
    executionProvider: new Gauge({
      name: 'fhir_fusion_execution_provider',
      help: '1 for the execution provider each model runs on.',
      labelNames: ['model', 'provider'] as const,
      registers,
    }),
    writebacks: new Counter({
      name: 'fhir_fusion_writebacks_total',
      help: 'Write-back transactions, by outcome (created, exists, failed).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'fhir_fusion_dead_letters_total',
      help: 'Jobs that exhausted their retries.',
      registers,
    }),
    missedEventRecoveries: new Counter({
      name: 'fhir_fusion_missed_event_recoveries_total',
      help: 'Events recovered after a gap in subscription notifications.',
      registers,
    }),
    cdsFeedback: new Counter({
      name: 'fhir_fusion_cds_feedback_total',
      help: 'Clinician feedback on CDS Hooks cards, by outcome.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    similarCasesIndexed: new Counter({
      name: 'fhir_fusion_similar_cases_indexed_total',
      help: 'Assessed patients offered to the similar-case index, by outcome.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    libraryMessages: new Counter({
      name: 'fhir_fusion_library_messages_total',
      help: 'Messages DICOM libraries tried to print, routed away from stderr, by library and level.',
      labelNames: ['library', 'level'] as const,
      registers,
    }),
    inputRefusals: new Counter({
      name: 'fhir_fusion_input_refusals_total',
      help: 'Inputs preprocessing refused (undecodable, or outside the model input contract), by modality and reason.',
      labelNames: ['modality', 'reason'] as const,
      registers,
    }),
    outcomesNotAssessed: new Counter({
      name: 'fhir_fusion_outcomes_not_assessed_total',
      help: 'Outcomes written as not assessed (no probability) because the input was too little or a required input unusable, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}
