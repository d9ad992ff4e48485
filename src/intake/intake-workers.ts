import type { MedplumClient } from '@medplum/core';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { AssessmentQueue } from '../jobs/assessment-queue.js';
import type { Metrics } from '../observability/create-metrics.js';
import type { IntakeAlerts } from './intake-alerts.js';
import { resolveNotifications } from './resolve-notifications.js';
import { startSubscriptionWatchdog } from './subscription-watchdog.js';

/** Dependencies of the intake's background work. */
export interface IntakeWorkerOptions {
  pool: Pool;
  queue: AssessmentQueue;
  ehr: MedplumClient;
  logger: Logger;
  metrics: Metrics;
  alerts: IntakeAlerts;
  checkIntervalMs: number;
}

/**
 * Starts the worker side of intake: the resolve-job poller (pings, empty/id-only events, gaps,
 * polling) and the subscription watchdog (missed heartbeats → `$status`). Returns the stop
 * function for the app's shutdown sequence (the queue itself is stopped by its owner).
 */
export async function startIntakeWorkers(options: IntakeWorkerOptions): Promise<() => Promise<void>> {
  const { pool, queue, ehr, logger, metrics, alerts } = options;
  await queue.workResolve(async (job) => {
    await resolveNotifications(job, { pool, queue, ehr, logger, metrics });
  });
  return startSubscriptionWatchdog({ pool, queue, ehr, logger, alerts }, options.checkIntervalMs);
}
