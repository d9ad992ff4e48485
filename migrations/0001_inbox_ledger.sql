-- Notifications are committed here before intake answers 2xx (at-least-once in).
-- The payload can hold PHI: it stays in the database and is never logged.
CREATE TABLE notification_inbox (
  id              bigserial PRIMARY KEY,
  received_at     timestamptz NOT NULL DEFAULT now(),
  dialect         text        NOT NULL,
  subscription    text        NOT NULL,
  -- Redelivery of the same event is a no-op: resource id + versionId, or subscription + event number.
  dedupe_key      text        NOT NULL UNIQUE,
  resource_type   text,
  resource_id     text,
  version_id      text,
  patient_id      text,
  event_number    bigint,
  payload         jsonb,
  status          text        NOT NULL DEFAULT 'received'
                  CHECK (status IN ('received', 'queued', 'processed', 'ignored', 'failed')),
  trace_id        text        NOT NULL,
  processed_at    timestamptz,
  error           jsonb
);
CREATE INDEX notification_inbox_patient_pending
  ON notification_inbox (patient_id) WHERE status IN ('received', 'queued');

-- One row per assessment identity (exactly-once out): the write-back is a conditional create on the
-- same identity, so a crash between the EHR write and this insert is repaired on the retry.
CREATE TABLE assessment_ledger (
  id                  bigserial PRIMARY KEY,
  identity            text        NOT NULL UNIQUE,
  patient_id          text        NOT NULL,
  model_name          text        NOT NULL,
  model_version       text        NOT NULL,
  risk_assessment_ref text        NOT NULL,
  provenance_ref      text        NOT NULL,
  outcome             text        NOT NULL CHECK (outcome IN ('created', 'exists')),
  execution_provider  text        NOT NULL,
  -- Outcome, probability and qualitative risk per prediction, for the operator page and CLI.
  predictions         jsonb       NOT NULL DEFAULT '[]',
  missing_modalities  text[]      NOT NULL DEFAULT '{}',
  trace_id            text        NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assessment_ledger_patient ON assessment_ledger (patient_id, model_name, created_at DESC);

-- Jobs the EHR refused (4xx) or that exhausted their retries, with the OperationOutcome.
CREATE TABLE dead_letters (
  id          bigserial PRIMARY KEY,
  job_id      text        NOT NULL UNIQUE,
  queue       text        NOT NULL,
  patient_id  text,
  reason      jsonb       NOT NULL,
  trace_id    text,
  failed_at   timestamptz NOT NULL DEFAULT now()
);

-- Subscriptions fhir-fusion holds on EHRs; the key appears in the notification URL.
CREATE TABLE subscriptions (
  key              text PRIMARY KEY,
  ehr_subscription text,
  kind             text        NOT NULL CHECK (kind IN ('rest-hook-criteria', 'backport-topic')),
  criteria         text        NOT NULL,
  secret           text,
  status           text        NOT NULL DEFAULT 'requested',
  last_event_number bigint,
  last_event_at    timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
