-- Bulk Data backfill runs (issue 12). A run is resumable: the export's status URL and manifest are
-- kept, each NDJSON file is loaded once (a half-loaded file is cleared and reloaded), and each
-- patient's state is recorded the moment its assessments are written, so a restart neither
-- repeats a finished patient nor skips one.
CREATE TABLE backfill_runs (
  id                text        PRIMARY KEY,
  kickoff_url       text        NOT NULL,
  status_url        text,
  transaction_time  timestamptz,
  manifest          jsonb,
  state             text        NOT NULL DEFAULT 'exporting'
                    CHECK (state IN ('exporting', 'loading', 'scoring', 'done')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz
);

CREATE TABLE backfill_files (
  run_id         text    NOT NULL REFERENCES backfill_runs (id) ON DELETE CASCADE,
  file_index     integer NOT NULL,
  resource_type  text    NOT NULL,
  url            text    NOT NULL,
  loaded         boolean NOT NULL DEFAULT false,
  lines          integer NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, file_index)
);

-- Export resources spilled to Postgres, so memory stays flat whatever the export's size.
CREATE TABLE backfill_resources (
  run_id         text    NOT NULL,
  file_index     integer NOT NULL,
  patient_id     text    NOT NULL,
  resource_type  text    NOT NULL,
  resource       jsonb   NOT NULL,
  FOREIGN KEY (run_id, file_index) REFERENCES backfill_files (run_id, file_index) ON DELETE CASCADE
);
CREATE INDEX backfill_resources_patient ON backfill_resources (run_id, patient_id);
CREATE INDEX backfill_resources_file ON backfill_resources (run_id, file_index);

CREATE TABLE backfill_patients (
  run_id      text NOT NULL REFERENCES backfill_runs (id) ON DELETE CASCADE,
  patient_id  text NOT NULL,
  state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'scored', 'skipped', 'failed')),
  reason      text,
  written     integer NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, patient_id)
);
CREATE INDEX backfill_patients_pending ON backfill_patients (run_id, patient_id) WHERE state = 'pending';
