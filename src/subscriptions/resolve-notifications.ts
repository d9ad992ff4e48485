import type { MedplumClient } from '@medplum/core';
import { OperationOutcomeError, getStatus } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { outcome } from '../fhir/operation-outcome.js';
import type { AssessmentQueue } from '../jobs/assessment-queue.js';
import type { ResolveJob } from '../jobs/resolve-queue.js';
import { RESOLVE_QUEUE } from '../jobs/resolve-queue.js';
import type { Metrics } from '../observability/create-metrics.js';
import { markInbox, resolveInboxRow, unresolvedForSubscription } from '../store/inbox-repository.js';
import { recordDeadLetter } from '../store/ledger-repository.js';
import type { SubscriptionRow } from '../store/subscriptions-repository.js';
import { countRecovery, findSubscription, setPolledAt, setReconciledThrough } from '../store/subscriptions-repository.js';
import { withTransaction } from '../store/transaction.js';
import { backportDedupeKey, backportIntakeEvents } from '../intake/backport-events.js';
import { parseNotificationBundle } from '../intake/backport-notification.js';
import type { IntakeEvent } from '../contracts/intake-event.js';
import { isWatchedResourceType, patientIdFromReference, WATCHED_RESOURCE_TYPES } from '../intake/resource-subject.js';
import type { WatchedResourceType } from '../intake/resource-subject.js';
import { DEFAULT_GAP_WINDOW, eventGapOf, storeInTransaction } from '../intake/store-notification.js';

/** Dependencies of the resolve job. */
export interface ResolveDeps {
  pool: Pool;
  queue: AssessmentQueue;
  ehr: MedplumClient;
  logger: Logger;
  metrics: Metrics;
  /** Overlap of consecutive `_lastUpdated` searches, for clock skew between EHR and us (ms). */
  searchOverlapMs?: number;
  /** SUBSCRIPTION_EVENT_GAP_WINDOW (default 100). */
  gapWindow?: number;
}

/** What one resolve run did (counts only). */
export interface ResolveSummary {
  recovered: number;
  resolved: number;
  searched: number;
  failed: number;
}

/** HTTP status of an EHR error, or undefined when it was not an HTTP answer (network). */
function httpStatus(err: unknown): number | undefined {
  return err instanceof OperationOutcomeError ? getStatus(err.outcome) : undefined;
}

/** A 4xx from the EHR: retrying will not help. 408/429 are transient. */
function isClientError(err: unknown): boolean {
  const status = httpStatus(err);
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** Resource types a subscription covers (criteria `Type?…`, a comma list for polling). */
export function subscriptionTypes(row: Pick<SubscriptionRow, 'criteria'>): WatchedResourceType[] {
  const types = (row.criteria.split('?')[0] ?? '').split(',').map((t) => t.trim()).filter(isWatchedResourceType);
  return types.length > 0 ? types : [...WATCHED_RESOURCE_TYPES];
}

/**
 * The per-subscription resolve job:
 * 1. gaps — event numbers up to `events-since-subscription-start` with no inbox row are fetched
 *    with `$events` (Backport IG OperationDefinition backport-subscription-events); where the EHR
 *    does not offer it, they are recorded as covered by step 3's search;
 * 2. `id-only` events — the focus is read to learn its patient (a focus that no longer exists is
 *    marked failed with the OperationOutcome);
 * 3. pings, `empty` events, uncovered gaps and polling — a `_lastUpdated` search since the last
 *    one (FHIR R4 §3.1.1.5.4 search on `_lastUpdated`), every hit stored under its version key.
 * Every step commits its inbox rows and jobs in one transaction, so a crash repeats only work
 * whose dedupe keys make it a no-op. A transient EHR failure throws (pg-boss retries with
 * backoff); after the last retry the job goes to `dead_letters` with its reason.
 */
export async function resolveNotifications(job: ResolveJob, deps: ResolveDeps): Promise<ResolveSummary> {
  const summary: ResolveSummary = { recovered: 0, resolved: 0, searched: 0, failed: 0 };
  const key = job.data.subscription;
  const log = deps.logger.child({ jobId: job.id, traceId: job.data.traceId, subscription: key });
  try {
    const row = await findSubscription(deps.pool, key);
    if (!row) return summary;
    let search = row.kind === 'polling';
    if (row.kind === 'backport-topic') {
      const gap = await recoverGap(row, job.data.traceId, deps);
      summary.recovered += gap.recovered;
      search ||= gap.needsSearch;
    }
    const unresolved = await unresolvedForSubscription(deps.pool, key);
    const pings: string[] = [];
    for (const inbox of unresolved) {
      if (!inbox.resource_type || !inbox.resource_id) {
        pings.push(inbox.id);
        continue;
      }
      const done = await resolveFocus(inbox.id, inbox.resource_type, inbox.resource_id, inbox.trace_id, deps);
      if (done === 'failed') summary.failed++;
      else summary.resolved++;
    }
    if (pings.length > 0) search = true;
    if (search) summary.searched = await searchSince(row, pings, job.data.traceId, deps);
    log.info(summary, 'subscription notifications resolved');
    return summary;
  } catch (err) {
    if (job.retryCount < job.retryLimit) {
      log.warn({ err: { name: (err as Error).name, message: (err as Error).message }, attempt: job.retryCount }, 'resolve failed; will retry');
      throw err;
    }
    const reason = outcome('transient', `gave up after ${job.retryCount + 1} attempts: ${(err as Error).message}`);
    await recordDeadLetter(deps.pool, { jobId: job.id, queue: RESOLVE_QUEUE, reason, traceId: job.data.traceId });
    deps.metrics.deadLetters.inc();
    log.error({ err: { name: (err as Error).name, message: (err as Error).message } }, 'resolve dead-lettered');
    return summary;
  }
}

async function recoverGap(
  row: SubscriptionRow,
  traceId: string,
  deps: ResolveDeps,
): Promise<{ recovered: number; needsSearch: boolean }> {
  if (!row.ehr_subscription) return { recovered: 0, needsSearch: false };
  const gap = await eventGapOf(deps.pool, row, deps.gapWindow ?? DEFAULT_GAP_WINDOW);
  if (gap.kind === 'none') return { recovered: 0, needsSearch: false };
  if (gap.kind === 'beyond') {
    // Too many numbers to fetch one by one (or a bogus event number): one `_lastUpdated` search
    // covers them all, nothing is materialised, and the numbers count as accounted for.
    await withTransaction(deps.pool, async (client) => {
      await countRecovery(client, row.key, gap.upTo - gap.from, 0);
      await setReconciledThrough(client, row.key, gap.upTo);
    });
    return { recovered: 0, needsSearch: true };
  }
  const { missing, upTo } = gap;
  const since = missing[0] as number;
  const until = missing[missing.length - 1] as number;
  let events: IntakeEvent[] = [];
  try {
    const url = deps.ehr.fhirUrl('Subscription', row.ehr_subscription, '$events');
    url.searchParams.set('eventsSinceNumber', String(since));
    url.searchParams.set('eventsUntilNumber', String(until));
    url.searchParams.set('content', 'id-only');
    const answer: unknown = await deps.ehr.get(url, { cache: 'no-cache' });
    const parsed =
      typeof answer === 'object' && answer !== null ? parseNotificationBundle(answer as Record<string, unknown>) : undefined;
    if (!parsed?.ok) throw new Error('$events answer is not a notification Bundle');
    const wanted = new Set(missing);
    events = backportIntakeEvents(row.key, parsed.value, 'recovered').filter((e) => wanted.has(e.eventNumber ?? -1));
  } catch (err) {
    if (!isClientError(err)) throw err;
  }
  const found = new Set(events.map((e) => e.eventNumber));
  // Events `$events` could not return (not offered, or beyond what the EHR keeps) are covered by a
  // `_lastUpdated` search; their numbers are recorded so the gap is not chased again.
  const uncovered: IntakeEvent[] = missing
    .filter((n) => !found.has(n))
    .map((n) => ({
      dialect: 'recovered',
      dedupeKey: backportDedupeKey(row.key, row.ehr_subscription ?? '', n),
      eventNumber: n,
      ignoredReason: 'not returned by $events; covered by a _lastUpdated search',
    }));
  const stored = await withTransaction(deps.pool, async (client) => {
    const result = await storeInTransaction(client, deps.queue, row.key, [...events, ...uncovered], traceId);
    await countRecovery(client, row.key, missing.length, events.length);
    await setReconciledThrough(client, row.key, upTo);
    return result;
  });
  deps.metrics.missedEventRecoveries.inc(events.length);
  return { recovered: stored.stored - uncovered.length, needsSearch: uncovered.length > 0 };
}

async function resolveFocus(
  inboxId: string,
  type: string,
  id: string,
  traceId: string,
  deps: ResolveDeps,
): Promise<'queued' | 'ignored' | 'failed'> {
  if (!isWatchedResourceType(type)) {
    await markInbox(deps.pool, [inboxId], 'ignored', { reason: `${type} is not a watched resource type` });
    return 'ignored';
  }
  let resource: Resource;
  try {
    resource = await deps.ehr.readResource(type, id, { cache: 'no-cache' });
  } catch (err) {
    if (!isClientError(err)) throw err;
    // The focus of an id-only event does not exist (any more): recorded as failed, with why.
    const reason = err instanceof OperationOutcomeError ? err.outcome : outcome('not-found', `${type}/${id} could not be read`);
    await markInbox(deps.pool, [inboxId], 'failed', reason);
    return 'failed';
  }
  const patientId = patientIdFromReference((resource as { subject?: { reference?: string } }).subject?.reference);
  if (!patientId) {
    await markInbox(deps.pool, [inboxId], 'ignored', { reason: `${type}.subject is not a Patient` });
    return 'ignored';
  }
  await withTransaction(deps.pool, async (client) => {
    await resolveInboxRow(client, inboxId, patientId, resource.meta?.versionId);
    await deps.queue.enqueue(client, { patientId, traceId });
    await markInbox(client, [inboxId], 'queued');
  });
  return 'queued';
}

async function searchSince(row: SubscriptionRow, pingIds: string[], traceId: string, deps: ResolveDeps): Promise<number> {
  const overlap = deps.searchOverlapMs ?? 5_000;
  const started = new Date();
  const since = new Date((row.last_polled_at ?? row.created_at).getTime() - overlap);
  const events: IntakeEvent[] = [];
  for (const type of subscriptionTypes(row) as WatchedResourceType[]) {
    const query = { _lastUpdated: `gt${since.toISOString()}`, _count: '200', _sort: '_lastUpdated' };
    for await (const page of deps.ehr.searchResourcePages(type, query, { cache: 'no-cache' })) {
      for (const resource of page) {
        const patientId = patientIdFromReference((resource as { subject?: { reference?: string } }).subject?.reference);
        if (!patientId || !resource.id) continue;
        const version = resource.meta?.versionId ?? resource.meta?.lastUpdated ?? 'unknown';
        events.push({
          dialect: 'search',
          // Same key as a rest-hook delivery of this version: whichever arrives first counts once.
          dedupeKey: `${type}/${resource.id}/_history/${version}`,
          resourceType: type,
          resourceId: resource.id,
          ...(resource.meta?.versionId ? { versionId: resource.meta.versionId } : {}),
          patientId,
        });
      }
    }
  }
  await withTransaction(deps.pool, async (client) => {
    await storeInTransaction(client, deps.queue, row.key, events, traceId);
    await markInbox(client, pingIds, 'processed');
    await setPolledAt(client, row.key, started);
  });
  return events.length;
}
