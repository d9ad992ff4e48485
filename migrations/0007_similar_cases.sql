-- Similar-case retrieval (src/similar-cases): one row per indexed patient, holding the ECG and
-- ECG-report embeddings of the CLIP-style model and references to the source resources. No
-- clinical text or values are copied here: report text and diagnoses are read through the EHR
-- with the caller's token at query time, so the caller's authorization decides what is shown.
-- The ANN index (usearch HNSW, in process) is rebuilt from this table on start; `case_key` is
-- its integer key.
CREATE TABLE similar_case (
  case_key         bigserial   PRIMARY KEY,
  -- Patient/{id} on the EHR; one row per patient (the latest ECG replaces an older one).
  patient_ref      text        NOT NULL UNIQUE,
  -- Observation/{id} or ImagingStudy/{id} the ECG came from.
  ecg_ref          text        NOT NULL,
  -- DiagnosticReport/{id} of the ECG interpretation, when there was one.
  report_ref       text,
  ecg_recorded     timestamptz,
  -- `name@version` of the embedding model; rows of another model are ignored by the index.
  model            text        NOT NULL,
  ecg_embedding    real[]      NOT NULL,
  report_embedding real[],
  indexed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX similar_case_model ON similar_case (model);
