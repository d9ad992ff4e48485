-- Model monitoring on the running server (issue 19 point 5): outcome tracking and input drift.
--
-- What each assessment's model was fed, reduced to per-feature z-scores and per-modality summary
-- statistics (src/preprocess/ood/input-summary.ts): the drift window is compared with the training
-- reference in the model's manifest. NULL on rows written before this migration.
ALTER TABLE assessment_ledger ADD COLUMN input_summary jsonb;

-- Rolling windows select ledger rows by write time.
CREATE INDEX assessment_ledger_created ON assessment_ledger (created_at);

-- The outcome of each assessment whose label window has closed, labelled once from the EHR's later
-- Condition / Encounter.diagnosis records (src/validation/label-outcomes.ts), so each monitor run asks
-- the EHR only about assessments not labelled yet. 'prevalent': the outcome was already on record at
-- the assessment time (left out of the metrics, counted).
CREATE TABLE assessment_outcome_labels (
  ledger_id      bigint      NOT NULL REFERENCES assessment_ledger (id) ON DELETE CASCADE,
  outcome_system text        NOT NULL,
  outcome_code   text        NOT NULL,
  label          text        NOT NULL CHECK (label IN ('positive', 'negative', 'prevalent')),
  window_days    integer     NOT NULL,
  labelled_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (ledger_id, outcome_system, outcome_code)
);
