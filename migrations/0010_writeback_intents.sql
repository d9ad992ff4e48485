-- Exactly-once out across a crash between the EHR's commit and ours. A write-back is recorded
-- here (with everything its ledger row needs but the EHR's references) BEFORE the transaction is
-- POSTed, and removed when its ledger row is written. A worker killed in between leaves the intent
-- behind; the next scoring of the same patient looks the identity up in the EHR (the
-- RiskAssessment identifier, the Provenance tag) and either completes the ledger row or, when the
-- EHR never committed, drops the intent. So the ledger equals what the EHR holds even when a retry
-- scores newer inputs (a new identity) than the run that was killed.
CREATE TABLE writeback_intents (
  identity   text        PRIMARY KEY,
  patient_id text        NOT NULL,
  entry      jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX writeback_intents_patient ON writeback_intents (patient_id);
