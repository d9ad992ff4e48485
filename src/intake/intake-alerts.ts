import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { SubscriptionRow } from '../store/subscriptions-repository.js';

/** Alerts about the health of subscriptions on the EHR. */
export interface IntakeAlerts {
  /** A subscription the EHR reports in `error` or `off`: logged at error level and counted. */
  subscriptionState(row: SubscriptionRow): void;
  /** No heartbeat or notification within the subscription's heartbeat period. */
  heartbeatMissed(row: SubscriptionRow): void;
}

/**
 * Creates the alerts, registering their counters on `registry`
 * (`fhir_fusion_subscription_alerts_total{kind}`). Logs carry the subscription key and status,
 * never patient data.
 */
export function createIntakeAlerts(registry: Registry, logger: Logger): IntakeAlerts {
  const alerts = new Counter({
    name: 'fhir_fusion_subscription_alerts_total',
    help: 'Subscriptions reported in error/off by the EHR, or silent past their heartbeat period.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  return {
    subscriptionState(row) {
      alerts.inc({ kind: row.status === 'off' ? 'off' : 'error' });
      logger.error({ subscription: row.key, status: row.status, error: row.last_error }, 'ALERT: subscription is not active on the EHR');
    },
    heartbeatMissed(row) {
      alerts.inc({ kind: 'heartbeat-missed' });
      logger.warn({ subscription: row.key, heartbeatPeriodS: row.heartbeat_period_s }, 'no heartbeat within the period; querying $status');
    },
  };
}
