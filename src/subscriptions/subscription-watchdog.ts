import type { MedplumClient } from '@medplum/core';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AssessmentQueue } from '../jobs/assessment-queue.js';
import type { SubscriptionRow } from '../store/subscriptions-repository.js';
import { listSubscriptions } from '../store/subscriptions-repository.js';
import { parseStatusResource } from '../intake/backport-notification.js';
import type { IntakeAlerts } from '../intake/intake-alerts.js';
import { storeNotification } from '../intake/store-notification.js';
import { requeueStranded } from './requeue-stranded.js';

/** Dependencies of the watchdog. */
export interface WatchdogDeps {
  pool: Pool;
  queue: AssessmentQueue;
  ehr: MedplumClient;
  logger: Logger;
  alerts: IntakeAlerts;
  /** Re-enqueue inbox rows unfinished for this long (ms); absent → no sweep. */
  strandedAfterMs?: number;
  now?: () => Date;
  /** SUBSCRIPTION_EVENT_GAP_WINDOW. */
  gapWindow?: number;
}

/** What one check did. */
export interface WatchdogSummary {
  statusQueried: string[];
  polled: string[];
}

/** Whether a topic subscription has been silent for more than twice its heartbeat period. */
export function heartbeatOverdue(row: SubscriptionRow, now: Date): boolean {
  if (row.kind !== 'backport-topic' || !row.heartbeat_period_s || !row.ehr_subscription) return false;
  const period = row.heartbeat_period_s * 1000;
  const lastHeard = Math.max(
    row.last_heartbeat_at?.getTime() ?? 0,
    row.last_notification_at?.getTime() ?? 0,
    row.created_at.getTime(),
  );
  const lastChecked = row.status_checked_at?.getTime() ?? 0;
  return now.getTime() - lastHeard > 2 * period && now.getTime() - lastChecked > period;
}

/**
 * One pass over the subscriptions:
 * - a topic subscription silent past twice its heartbeat period (Backport IG heartbeat-period) is
 *   queried with `$status` (OperationDefinition backport-subscription-status); the answer's
 *   `events-since-subscription-start` is recorded like a notification's, so missed events are
 *   recovered by the resolve job, and an `error`/`off` status raises an alert;
 * - a polling subscription gets its resolve job (a `_lastUpdated` search).
 * EHR failures are logged and retried on the next pass.
 */
export async function checkSubscriptions(deps: WatchdogDeps): Promise<WatchdogSummary> {
  const now = deps.now?.() ?? new Date();
  const summary: WatchdogSummary = { statusQueried: [], polled: [] };
  for (const row of await listSubscriptions(deps.pool)) {
    try {
      if (row.kind === 'polling') {
        await enqueueResolve(deps, row.key);
        summary.polled.push(row.key);
      } else if (heartbeatOverdue(row, now)) {
        deps.alerts.heartbeatMissed(row);
        await queryStatus(row, deps);
        summary.statusQueried.push(row.key);
      }
    } catch (err) {
      deps.logger.warn({ subscription: row.key, err: { name: (err as Error).name, message: (err as Error).message } }, 'subscription check failed');
    }
  }
  if (deps.strandedAfterMs !== undefined) await requeueStranded(deps.pool, deps.queue, deps.strandedAfterMs);
  return summary;
}

async function enqueueResolve(deps: WatchdogDeps, subscription: string): Promise<void> {
  const client = await deps.pool.connect();
  try {
    await deps.queue.enqueueResolve(client, { subscription, traceId: randomUUID() });
  } finally {
    client.release();
  }
}

async function queryStatus(row: SubscriptionRow, deps: WatchdogDeps): Promise<void> {
  const url = deps.ehr.fhirUrl('Subscription', row.ehr_subscription ?? '', '$status');
  const answer: unknown = await deps.ehr.get(url, { cache: 'no-cache' });
  // $status answers a searchset Bundle of SubscriptionStatus resources (Parameters in R4).
  const entries = (answer as { entry?: Array<{ resource?: unknown }> } | undefined)?.entry ?? [];
  for (let i = 0; i < entries.length; i++) {
    const parsed = parseStatusResource(entries[i]?.resource, `Bundle.entry[${i}].resource`);
    if (!parsed.ok || parsed.value.subscription.id !== row.ehr_subscription) continue;
    const status = parsed.value;
    const stored = await storeNotification(deps.pool, deps.queue, row.key, [], randomUUID(), {
      status: {
        status: status.status,
        statusCheck: true,
        ...(status.eventsSinceSubscriptionStart !== undefined ? { eventsSinceStart: status.eventsSinceSubscriptionStart } : {}),
        ...(status.errors.length > 0 ? { error: status.errors.join(', ') } : {}),
      },
      ...(deps.gapWindow ? { gapWindow: deps.gapWindow } : {}),
    });
    const before = Number(stored.subscription?.previous_events_since_start ?? 0);
    const after = Number(stored.subscription?.events_since_start ?? 0);
    if (stored.subscription && after < before) {
      // The EHR's $status is the source of truth: a counter above it (a bogus event number) is reset.
      deps.logger.warn({ subscription: row.key, eventsSinceStart: after, previous: before }, 'subscription event counter reset by $status');
    }
    if (stored.subscription && (stored.subscription.status === 'error' || stored.subscription.status === 'off')) {
      deps.alerts.subscriptionState(stored.subscription);
    }
  }
}

/**
 * Runs {@link checkSubscriptions} every `intervalMs` (timer unref'd; one pass at a time).
 * Returns a stop function.
 */
export function startSubscriptionWatchdog(deps: WatchdogDeps, intervalMs: number): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = checkSubscriptions(deps)
      .catch((err: unknown) => deps.logger.warn({ err: { message: (err as Error).message } }, 'subscription watchdog failed'))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
