import type { ClaimedJob } from './pg-boss-queues.js';

/**
 * Queue name of per-subscription resolve jobs (pings, empty/id-only events, gaps, polling):
 * coalesced per subscription, started at once (see `createAssessmentQueue`).
 */
export const RESOLVE_QUEUE = 'resolve-notifications';

/** Resolve job data: the subscription key whose unresolved inbox rows and gaps to work on. */
export interface ResolveJobData {
  subscription: string;
  traceId: string;
}

/** A claimed resolve job. */
export type ResolveJob = ClaimedJob<ResolveJobData>;
