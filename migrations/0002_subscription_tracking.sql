-- Per-subscription delivery tracking (Subscriptions R5 Backport IG): what the EHR last told us,
-- so gaps, missed heartbeats and error/off states can be noticed and recovered.
ALTER TABLE subscriptions
  ADD COLUMN topic                text,
  ADD COLUMN heartbeat_period_s   integer,
  ADD COLUMN events_since_start   bigint,
  ADD COLUMN last_heartbeat_at    timestamptz,
  ADD COLUMN last_notification_at timestamptz,
  ADD COLUMN status_checked_at    timestamptz,
  -- High-water mark of the `_lastUpdated` catch-up search (pings, empty events, polling, gaps).
  ADD COLUMN last_polled_at       timestamptz,
  ADD COLUMN last_error           text,
  ADD COLUMN gaps_detected        bigint NOT NULL DEFAULT 0,
  ADD COLUMN events_recovered     bigint NOT NULL DEFAULT 0;

-- A polling "subscription" serves EHRs without any subscription support.
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_kind_check;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_kind_check
  CHECK (kind IN ('rest-hook-criteria', 'backport-topic', 'polling'));

-- Events whose focus or patient is not known yet (pings, empty and id-only content) are resolved
-- by a job per subscription; this index finds them.
CREATE INDEX notification_inbox_unresolved
  ON notification_inbox (subscription, id) WHERE status = 'received' AND patient_id IS NULL;
CREATE INDEX notification_inbox_subscription_event
  ON notification_inbox (subscription, event_number) WHERE event_number IS NOT NULL;
