-- Clinician review app (SMART App Launch 2): server-side launch state and sessions.
-- Tokens never reach the browser; the browser holds only an opaque session id in an
-- HttpOnly SameSite cookie, and only its SHA-256 is stored here.

-- One row per authorization request in flight: the `state` the EHR echoes back and the PKCE
-- verifier (RFC 7636 §4.1) that proves the code is redeemed by whoever started the launch.
CREATE TABLE review_launch (
  state_hash      text        PRIMARY KEY,
  browser_hash    text        NOT NULL,
  iss             text        NOT NULL,
  token_endpoint  text        NOT NULL,
  code_verifier   text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL
);
CREATE INDEX review_launch_expires ON review_launch (expires_at);

-- One row per signed-in clinician browser: the access token and the SMART launch context.
CREATE TABLE review_session (
  session_hash    text        PRIMARY KEY,
  iss             text        NOT NULL,
  access_token    text        NOT NULL,
  scope           text        NOT NULL,
  patient_id      text        NOT NULL,
  fhir_user       text,
  csrf_token      text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL
);
CREATE INDEX review_session_expires ON review_session (expires_at);
