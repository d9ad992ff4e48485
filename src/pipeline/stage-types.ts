import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AssessmentResult, InferenceOutput } from '../contracts/assessment-result.js';
import type { InputSummary } from '../contracts/model-monitoring.js';
import type { PatientRecord, VersionedReference } from '../contracts/patient-record.js';
import type { ServedModel } from '../contracts/served-model.js';
import type { Metrics } from '../observability/create-metrics.js';
import type { DraftedDescription } from '../writeback/build-draft-report.js';
import type { DraftOutcome } from './draft-description.js';

/*
 * The types that pass between the stages of the per-patient job (#22): the job (assess-patient.ts),
 * the scoring loop it shares with the backfill (score-patient.ts) and the stage factory
 * (pipeline-stages.ts) all import these, so none of them imports another for a type.
 */

/** What the write-back reports for one assessment. */
export interface WrittenAssessment {
  identity: string;
  outcome: 'created' | 'exists';
  riskAssessmentRef: string;
  provenanceRef: string;
  /**
   * Stores what the assessment derived outside the EHR (the localisation SEG, by STOW-RS to the
   * PACS, issue #20). Run after the ledger row; it throws when the PACS refuses or is down, so the
   * job is retried — the FHIR write then finds its resources (`exists`) and the same SEG is sent again.
   */
  storeDerived?: () => Promise<void>;
  /** The AI-drafted DiagnosticReport written with it (issue #20), when the bundle carried one. */
  draftReport?: { outcome: 'created' | 'exists'; reference: string };
  /** Why the draft was not written while the assessment was (the EHR refused it; codes and paths only). */
  draftRefused?: string;
}

/** The stages of the pipeline, passed in (so tests and the benchmark can swap any of them). */
export interface AssessPatientDeps {
  pool: Pool;
  logger: Logger;
  metrics: Metrics;
  models: () => ServedModel[];
  assemble: (patientId: string, asOf: Date) => Promise<PatientRecord | undefined>;
  /** Preprocess + infer for one model (preprocessing is pure; inference runs in worker threads). */
  predict: (
    record: PatientRecord,
    model: ServedModel,
  ) => Promise<{
    output: InferenceOutput;
    basis: VersionedReference[];
    missing: AssessmentResult['missing'];
    /** Outcomes given no probability (issue #17); `output` then holds only the others. */
    notAssessed?: AssessmentResult['notAssessed'];
    /** Observations seen but not used by this model. */
    unusedInputs?: AssessmentResult['unusedInputs'];
    /** What the model was fed, reduced for input-drift monitoring (no patient identifiers). */
    inputSummary?: InputSummary;
    /** Where the model's localisation maps go on the source image, or why they cannot (issue #20). */
    localisation?: AssessmentResult['localisation'];
  }>;
  /** Writes one assessment back; `extras.draft` is recorded in the same transaction (issue #20). */
  write: (
    result: AssessmentResult,
    model: ServedModel,
    extras?: { draft?: DraftedDescription },
  ) => Promise<WrittenAssessment>;
  /**
   * Drafts a description of the patient's image (issue #20), when a drafting model is configured
   * (`DESCRIPTION_MODEL`); absent when it is `off`.
   */
  draft?: (record: PatientRecord, traceId: string) => Promise<DraftOutcome>;
  /**
   * Finds what the EHR holds for an assessment identity (RiskAssessment + Provenance references),
   * `undefined` when it holds none: how a write-back interrupted after the EHR committed is
   * accounted for (see migration 0010).
   */
  locate: (identity: string) => Promise<{ riskAssessmentRef: string; provenanceRef: string } | undefined>;
  /** Runs after the patient's assessments are written (e.g. similar-case indexing); must not throw. */
  afterScoring?: (record: PatientRecord) => Promise<void>;
  now?: () => Date;
}
