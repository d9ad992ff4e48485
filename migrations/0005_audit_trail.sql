-- Audit trail of every call fhir-fusion makes to the EHR and the PACS: who, what, when, why
-- (modelled on FHIR R4 AuditEvent: agent, entity + action, recorded, purposeOfEvent, outcome).
-- Rows are pruned after AUDIT_RETENTION_DAYS.
CREATE TABLE ehr_audit (
  id             bigserial   PRIMARY KEY,
  recorded       timestamptz NOT NULL DEFAULT now(),
  -- AuditEvent.agent.who: the client identity fhir-fusion used (SMART client_id or 'fhir-fusion').
  agent          text        NOT NULL,
  -- AuditEvent.action: C | R | U | D | E (http://hl7.org/fhir/R4/valueset-audit-event-action.html).
  action         char(1)     NOT NULL CHECK (action IN ('C', 'R', 'U', 'D', 'E')),
  method         text        NOT NULL,
  -- AuditEvent.entity.what: the URL called, without scheme/credentials; query kept (it names the search).
  target         text        NOT NULL,
  server         text        NOT NULL,
  patient_ref    text,
  -- AuditEvent.purposeOfEvent (HL7 v3 PurposeOfUse): TREAT for assessment, HOPERAT for plumbing.
  purpose        text        NOT NULL,
  reason         text        NOT NULL,
  status         integer,
  -- AuditEvent.outcome: 0 success, 4 minor failure, 8 serious failure.
  outcome        smallint    NOT NULL,
  duration_ms    integer     NOT NULL
);
CREATE INDEX ehr_audit_recorded ON ehr_audit (recorded);
CREATE INDEX ehr_audit_patient ON ehr_audit (patient_ref, recorded);
