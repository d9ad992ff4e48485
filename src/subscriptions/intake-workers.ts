import type { MedplumClient } from '@medplum/core';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AssessmentQueue } from '../jobs/assessment-queue.js';
import type { Metrics } from '../observability/create-metrics.js';
import type { IntakeAlerts } from '../intake/intake-alerts.js';
import { resolveNotifications } from './resolve-notifications.js';
import { startSubscriptionWatchdog } from './subscription-watchdog.js';
import { requeueStranded } from './requeue-stranded.js';

/** Inbox rows unfinished for this long are re-enqueued by the watchdog (ms). */
const STRANDED_AFTER_MS = 30_000;

/** Dependencies of the intake's background work. */
export interface IntakeWorkerOptions {
  pool: Pool;
  queue: AssessmentQueue;
  ehr: MedplumClient;
  logger: Logger;
  metrics: Metrics;
  alerts: IntakeAlerts;
  checkIntervalMs: number;
  /** SUBSCRIPTION_EVENT_GAP_WINDOW. */
  gapWindow?: number;
}

/**
 * Starts the worker side of intake: the resolve-job poller (pings, empty/id-only events, gaps,
 * polling) and the subscription watchdog (missed heartbeats → `$status`). Returns the stop
 * function for the app's shutdown sequence (the queue itself is stopped by its owner).
 */
export async function startIntakeWorkers(options: IntakeWorkerOptions): Promise<() => Promise<void>> {
  const { pool, queue, ehr, logger, metrics, alerts } = options;
  await queue.workResolve(async (job) => {
    await metrics.stageClock.run('queue', () =>
      resolveNotifications(job, { pool, queue, ehr, logger, metrics, ...(options.gapWindow ? { gapWindow: options.gapWindow } : {}) }),
    );
  });
  // Work stranded by a crash (kill -9) resumes now, not when pg-boss expires the dead claim.
  const requeued = await requeueStranded(pool, queue, 0);
  if (requeued.patients + requeued.subscriptions + requeued.reclaimed > 0) logger.info(requeued, 're-enqueued work left by a previous run');
  return startSubscriptionWatchdog({ pool, queue, ehr, logger, alerts, strandedAfterMs: STRANDED_AFTER_MS, ...(options.gapWindow ? { gapWindow: options.gapWindow } : {}) }, options.checkIntervalMs);
}
