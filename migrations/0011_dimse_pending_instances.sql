-- The DICOM DIMSE door's studies inside their quiet period (docs/dicom-dimse-intake.md). A
-- C-STORE is answered Success only after its instance is in the PACS AND recorded here, so a
-- process killed during a study's quiet period finds the study again at start-up and hands it
-- over (ImagingStudy + inbox row + job) once. The rows of a study are deleted in the same
-- transaction as its inbox row; an instance received again during the hand-over (a later
-- received_at) is kept for the next one. `attributes` holds what the hand-over needs (UIDs,
-- Patient ID and issuer, study date/description): patient data, removed when handed over.
CREATE TABLE dimse_pending_instances (
  study_instance_uid text        NOT NULL,
  sop_instance_uid   text        NOT NULL,
  attributes         jsonb       NOT NULL,
  received_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (study_instance_uid, sop_instance_uid)
);
