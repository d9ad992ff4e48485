-- CDS Hooks 2.0 service: cards issued, clinician feedback on them, and JWT ids seen.

-- One row per card returned, so feedback (CDS Hooks 2.0 §Feedback) can be tied to the
-- assessment and service the card came from. The card's uuid is the key the client echoes back.
CREATE TABLE cds_card (
  uuid             uuid        PRIMARY KEY,
  service_id       text        NOT NULL,
  patient_id       text        NOT NULL,
  risk_assessment  text,
  model            text,
  indicator        text        NOT NULL,
  hook_instance    text        NOT NULL,
  client_iss       text        NOT NULL,
  issued_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cds_card_issued ON cds_card (issued_at);

-- One row per feedback item (CDS Hooks 2.0 §Feedback: outcome accepted | overridden).
CREATE TABLE cds_feedback (
  id                    bigserial   PRIMARY KEY,
  card_uuid             uuid        NOT NULL REFERENCES cds_card (uuid),
  service_id            text        NOT NULL,
  outcome               text        NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
  override_code         text,
  override_system       text,
  override_display      text,
  user_comment          text,
  accepted_suggestions  jsonb       NOT NULL DEFAULT '[]'::jsonb,
  outcome_timestamp     timestamptz NOT NULL,
  client_iss            text        NOT NULL,
  received_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cds_feedback_card ON cds_feedback (card_uuid);

-- JWT ids already accepted (RFC 7519 §4.1.7 jti; CDS Hooks 2.0 §Trusting CDS Clients: replay
-- protection), kept until the token expires.
CREATE TABLE cds_jwt_seen (
  iss         text        NOT NULL,
  jti         text        NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (iss, jti)
);
CREATE INDEX cds_jwt_seen_expires ON cds_jwt_seen (expires_at);
