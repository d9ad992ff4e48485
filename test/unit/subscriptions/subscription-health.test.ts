import { describe, expect, it } from 'vitest';
import { formatSubscriptionStatus } from '../../../src/cli/subscriptions-command.js';
import { subscriptionTypes } from '../../../src/subscriptions/resolve-notifications.js';
import { heartbeatOverdue } from '../../../src/subscriptions/subscription-watchdog.js';
import type { SubscriptionRow } from '../../../src/store/subscriptions-repository.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number): Date => new Date(t0.getTime() + seconds * 1000);

function row(overrides: Partial<SubscriptionRow> = {}): SubscriptionRow {
  return {
    key: 'observation-topic',
    ehr_subscription: 's1',
    kind: 'backport-topic',
    criteria: 'Observation',
    secret: 'x',
    status: 'active',
    last_event_number: '4',
    topic: 'https://ehr/topic/obs',
    heartbeat_period_s: 60,
    events_since_start: '4',
    reconciled_through: '0',
    last_heartbeat_at: null,
    last_notification_at: null,
    status_checked_at: null,
    last_polled_at: null,
    last_error: null,
    gaps_detected: '1',
    events_recovered: '1',
    created_at: t0,
    ...overrides,
  };
}

describe('heartbeatOverdue (Backport IG heartbeat-period)', () => {
  it('is overdue only after twice the period of silence', () => {
    expect(heartbeatOverdue(row(), at(119))).toBe(false);
    expect(heartbeatOverdue(row(), at(121))).toBe(true);
    expect(heartbeatOverdue(row({ last_heartbeat_at: at(100) }), at(121))).toBe(false);
    expect(heartbeatOverdue(row({ last_notification_at: at(200) }), at(321))).toBe(true);
  });

  it('asks $status at most once per period, and never for subscriptions without heartbeats', () => {
    expect(heartbeatOverdue(row({ status_checked_at: at(100) }), at(130))).toBe(false);
    expect(heartbeatOverdue(row({ status_checked_at: at(100) }), at(161))).toBe(true);
    expect(heartbeatOverdue(row({ heartbeat_period_s: null }), at(10_000))).toBe(false);
    expect(heartbeatOverdue(row({ kind: 'rest-hook-criteria' }), at(10_000))).toBe(false);
  });
});

describe('subscriptions status output', () => {
  it('flags error/off subscriptions and shows counts and the error text', () => {
    const [ok, bad] = formatSubscriptionStatus([row(), row({ key: 'dr-topic', status: 'error', last_error: 'no-response' })]);
    expect(ok).not.toContain('ALERT');
    expect(ok).toContain('events since start: 4');
    expect(ok).toContain('gaps: 1  recovered: 1');
    expect(bad).toContain('ALERT error');
    expect(bad).toContain('error: no-response');
  });
});

describe('subscriptionTypes', () => {
  it('reads the searched types from criteria, a polling list, or falls back to every watched type', () => {
    expect(subscriptionTypes({ criteria: 'Observation?code=8867-4' })).toEqual(['Observation']);
    expect(subscriptionTypes({ criteria: 'Observation,ImagingStudy' })).toEqual(['Observation', 'ImagingStudy']);
    expect(subscriptionTypes({ criteria: 'Encounter' })).toEqual(['Observation', 'DiagnosticReport', 'ImagingStudy']);
  });
});
