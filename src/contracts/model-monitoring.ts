import type { ModalityName } from './manifest-types.js';

/*
 * Types of the running server's model monitoring (issue 19 point 5, second half): what each
 * assessment records about its inputs, and the snapshot the monitor publishes to /metrics and the
 * operator page. Nothing here identifies a patient: inputs are kept without the patient's id, and
 * the snapshot holds only aggregates per model, outcome and feature.
 */

/**
 * What a model was fed for one assessment, reduced to what drift monitoring compares with the
 * training reference in the manifest: each tabular feature's z-score (null when absent), each
 * present modality's summary statistics (`src/preprocess/ood/tensor-summary.ts`), the modalities
 * that were missing for any reason and those of them flagged out of distribution.
 */
export interface InputSummary {
  features: Record<string, number | null>;
  statistics: Partial<Record<ModalityName, number[]>>;
  missing: ModalityName[];
  outOfDistribution: ModalityName[];
}

/** A point estimate with its 95 % bootstrap interval; `null` where undefined (one class only). */
export interface IntervalEstimate {
  value: number | null;
  lower: number | null;
  upper: number | null;
}

/** Discrimination and calibration of one model on one outcome over the rolling window. */
export interface OutcomeMonitoring {
  model: string;
  /** SNOMED CT code of the outcome (the manifest's `outcomes[].coding.code`). */
  outcome: string;
  display: string;
  /** Labelled assessments in the metrics (one per patient: the latest in the window). */
  n: number;
  positives: number;
  /** A matching Condition was on record at or before the assessment: left out, counted. */
  prevalentExcluded: number;
  auroc: IntervalEstimate;
  brier: IntervalEstimate;
  /** 10-bin expected calibration error (the evaluation's `weightedEce`). */
  ece: IntervalEstimate;
}

/** Drift of one tabular feature or one modality summary statistic of one model. */
export interface FeatureDrift {
  model: string;
  modality: ModalityName;
  /** Tabular feature name, or the summary statistic's name for the other modalities. */
  feature: string;
  /** Assessments in the drift window in which the feature was present. */
  n: number;
  /** Standardised mean difference from the training split: (window mean − training mean) / training SD. */
  smd: number;
}

/** Missing and out-of-distribution rates of one modality of one model over the drift window. */
export interface ModalityRates {
  model: string;
  modality: ModalityName;
  missingRatio: number;
  outOfDistributionRatio: number;
}

/** A configured bound crossed. */
export interface MonitoringAlert {
  kind: 'calibration' | 'drift';
  model: string;
  /** Outcome display (calibration) or `modality/feature` (drift). */
  subject: string;
  value: number;
  bound: number;
}

/** One run of the monitor: what /metrics and the operator page show. */
export interface MonitoringSnapshot {
  ranAt: string;
  settings: {
    labelWindowDays: number;
    outcomeWindowDays: number;
    driftWindowDays: number;
    minCases: number;
    maxCalibrationError: number;
    maxDriftSmd: number;
  };
  /** Assessments newly labelled from the EHR in this run. */
  labelledThisRun: number;
  /** Per model: assessments whose label window has not closed yet (not in the metrics). */
  pending: Record<string, number>;
  outcomes: OutcomeMonitoring[];
  /** Per model: assessments in the drift window. */
  driftWindowAssessments: Record<string, number>;
  drift: FeatureDrift[];
  modalities: ModalityRates[];
  alerts: MonitoringAlert[];
}

/** What the server holds of the monitor: its latest snapshot, if it has run. */
export interface ModelMonitorHandle {
  latest(): MonitoringSnapshot | undefined;
  /** Runs once now (after any run in progress), as of `now`. */
  runOnce(now?: Date): Promise<MonitoringSnapshot>;
  close(): Promise<void>;
}
