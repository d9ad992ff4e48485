-- Issue 18.2: event numbers up to `reconciled_through` are accounted for (an inbox row each, or
-- covered by a `_lastUpdated` search after a jump larger than SUBSCRIPTION_EVENT_GAP_WINDOW), so a
-- gap is looked for only above it: the cost of a notification no longer grows with its event number.
ALTER TABLE subscriptions ADD COLUMN reconciled_through bigint NOT NULL DEFAULT 0;

-- Issue 18.5: the hash of every authenticated delivery, per subscription, for the replay window
-- (INTAKE_REPLAY_WINDOW_S). A byte-identical delivery inside the window is a replay.
CREATE TABLE intake_delivery_seen (
  subscription text        NOT NULL,
  body_sha256  bytea       NOT NULL,
  seen_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscription, body_sha256)
);
CREATE INDEX intake_delivery_seen_at ON intake_delivery_seen (seen_at);
