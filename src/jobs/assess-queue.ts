import type { ClaimedJob } from './pg-boss-queues.js';

/**
 * Queue name of per-patient assessment jobs: coalesced per patient and delayed by the coalescing
 * window (see `createAssessmentQueue`).
 */
export const ASSESS_QUEUE = 'assess-patient';

/**
 * Job data: ids and a trace id, never resources (the worker re-reads the EHR, so a stale or
 * duplicated job is harmless).
 */
export interface AssessJobData {
  patientId: string;
  traceId: string;
}

/** A claimed assessment job as the handler sees it. */
export type AssessJob = ClaimedJob<AssessJobData>;
