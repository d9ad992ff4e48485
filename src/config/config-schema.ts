import { availableParallelism } from 'node:os';
import { setting } from './declare-setting.js';
import type { ResolvedSettings, SettingDefault, SettingDefinition } from './setting-definition.js';
import { parseEnum, parseString, parseUrl, type RawSettingValue, type SettingParseResult } from './setting-parsers.js';

/** pino's level names, most to least severe. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
/** A pino log level name. */
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** How the server authenticates to the EHR's FHIR API. */
export const FHIR_AUTH_MODES = ['none', 'bearer', 'smart-backend-services'] as const;
/** One of {@link FHIR_AUTH_MODES}. */
export type FhirAuthMode = (typeof FHIR_AUTH_MODES)[number];

/** `FHIR_VERSION`: the EHR's FHIR release, or `auto` to read it from its CapabilityStatement. */
export const FHIR_VERSIONS = ['auto', 'R4', 'R4B', 'R5'] as const;
/** One of {@link FHIR_VERSIONS}. */
export type FhirVersionSetting = (typeof FHIR_VERSIONS)[number];

/** THO risk-probability codes, least to most severe (RiskAssessment.prediction.qualitativeRisk). */
export const RISK_LEVELS = ['negligible', 'low', 'moderate', 'high', 'certain'] as const;
/** One of {@link RISK_LEVELS}. */
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** ONNX Runtime execution providers the server may request, in preference order. */
export const EXECUTION_PROVIDER_NAMES = ['cpu', 'cuda', 'tensorrt'] as const;
/** One of {@link EXECUTION_PROVIDER_NAMES}. */
export type ExecutionProviderName = (typeof EXECUTION_PROVIDER_NAMES)[number];

const HTTP = ['http:', 'https:'] as const;

/** An IPv4 dotted quad or an IPv6 literal (loosely: a malformed one can only never match a peer). */
const IP_ADDRESS = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;

/**
 * Default SMART v2 scopes: read what assembly needs, create/update what write-back writes (create of
 * DiagnosticReport: the AI-drafted description, issue #20).
 */
export const DEFAULT_SMART_SCOPES =
  'system/Patient.rs system/Observation.rs system/DiagnosticReport.crs system/ImagingStudy.rs ' +
  'system/RiskAssessment.cu system/Provenance.c system/Device.cu system/DocumentReference.cu';

/**
 * Default review-app scopes (SMART App Launch 2 §Scopes): the launch context, the clinician's
 * identity (`fhirUser`, for the feedback Provenance agent), read of what the page shows and
 * create of the feedback Provenance, `user/DiagnosticReport.r` so the similar-cases panel can
 * show other patients' ECG reports — only those the EHR lets this clinician read —,
 * `user/Practitioner.r` to read the signed-in clinician's name from their `fhirUser` resource, and
 * `patient/DiagnosticReport.u` so the clinician can accept or reject an AI-drafted description
 * (issue #20) with their own token.
 */
export const DEFAULT_SMART_APP_SCOPES =
  'launch openid fhirUser patient/Patient.r patient/RiskAssessment.rs patient/Provenance.rs patient/Provenance.c ' +
  'patient/Observation.rs patient/DiagnosticReport.rus patient/ImagingStudy.rs patient/Device.r patient/DocumentReference.r ' +
  'user/DiagnosticReport.r user/Practitioner.r';

/**
 * `host` or `host:port`: DNS name, IPv4 or bracketed IPv6, lower-cased. Used for the DICOMweb
 * allow-list, which guards against SSRF through URLs inside EHR data.
 */
const HOST_PORT =
  /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?$/i;
/** `name@version` as used for model folders `models/<name>/<version>/`. */
const MODEL_REF = /^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** A {@link HOST_PORT} entry, lower-cased so the allow-list compares hosts case-insensitively. */
function parseHostPort(raw: RawSettingValue): SettingParseResult<string> {
  const parsed = parseString({ pattern: HOST_PORT })(raw);
  return parsed.ok ? { ok: true, value: parsed.value.toLowerCase() } : parsed;
}

/** `FHIR_BASE_URL`, the default of `WRITEBACK_FHIR_BASE_URL`. */
function fhirBaseUrlOf(resolved: ResolvedSettings): string | undefined {
  return typeof resolved.FHIR_BASE_URL === 'string' ? resolved.FHIR_BASE_URL : undefined;
}

/** Formats `http://HOST:PORT`, using loopback for wildcard binds and brackets for IPv6 literals. */
function defaultPublicUrl(resolved: ResolvedSettings): string | undefined {
  const { HOST, PORT } = resolved;
  if (typeof HOST !== 'string' || typeof PORT !== 'number') return undefined;
  const wildcard = HOST === '0.0.0.0' || HOST === '::';
  const name = wildcard ? 'localhost' : HOST;
  const bracketed = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
  return `http://${bracketed}:${PORT}`;
}

/**
 * The launching EHRs' origins, the default frame-ancestors allow-list: SMART apps are embedded by
 * the EHR that launches them (SMART App Launch 2 §"EHR Launch"), and CSP frame-ancestors matches
 * origins (CSP Level 3 §6.4.2), so the paths of the `iss` URLs are dropped.
 */
function launchingEhrOrigins(resolved: ResolvedSettings): string[] | undefined {
  const issuers = Array.isArray(resolved.SMART_APP_ISSUERS) ? (resolved.SMART_APP_ISSUERS as unknown[]) : [];
  const urls = issuers.length > 0 ? issuers : [resolved.FHIR_BASE_URL];
  const origins = urls.flatMap((u) => (typeof u === 'string' && URL.canParse(u) ? [new URL(u).origin] : []));
  return [...new Set(origins)];
}

/**
 * Every setting fhir-fusion reads, in documentation order: how each is parsed, defaulted,
 * protected and described. The one place a setting is described (`description`, rendered into
 * the README by `npm run docs:config`); {@link Config} is derived from it. One row a setting, as in
 * the README's table: the builder names the type and parser (`declare-setting.ts`), then the
 * description, then only what sets the setting apart (range, pattern, default, secret, required).
 */
// prettier-ignore
const SETTINGS = {
  HOST: setting.string('Interface the HTTP server binds to (0.0.0.0 for all).', { default: '127.0.0.1' }),
  PORT: setting.integer('TCP port of the HTTP server (0 picks a free port).', { min: 0, max: 65535, default: 8080 }),
  PUBLIC_URL: setting.url('Externally visible base URL of this server, used in Subscription endpoints, SMART launch and CDS Hooks links.', { derived: { text: 'http://HOST:PORT', derive: defaultPublicUrl } }),
  LOG_LEVEL: setting.enum(LOG_LEVELS, `Log level: ${LOG_LEVELS.join(', ')}.`, { default: 'info' }),
  DATABASE_URL: setting.url('PostgreSQL connection URL. Unset: an embedded Postgres is started under DATA_DIR/postgres.', { schemes: ['postgres:', 'postgresql:'], secret: true }),
  DATA_DIR: setting.string('Folder for local state; the embedded Postgres keeps its data in DATA_DIR/postgres.', { default: '.data' }),
  EMBEDDED_POSTGRES_PORT: setting.integer('Loopback port of the embedded Postgres (only used when DATABASE_URL is unset).', { min: 1, max: 65535, default: 54320 }),
  FHIR_BASE_URL: setting.url("The EHR's FHIR base URL (e.g. https://ehr.example.org/fhir/R4); R4 for everything, R4B or R5 for topic-based subscriptions.", { required: true }),
  FHIR_VERSION: setting.enum(FHIR_VERSIONS, "The EHR's FHIR release, which decides the Subscriptions `subscriptions sync` registers: R4 (classic criteria or the Subscriptions Backport IG), R4B (Backport IG Subscription, SubscriptionTopic resources), R5 (native topic-based Subscription). auto: read CapabilityStatement.fhirVersion (4.0.x → R4, 4.3.x → R4B, 5.0.x → R5).", { default: 'auto' }),
  FHIR_AUTH: setting.enum(FHIR_AUTH_MODES, `How to authenticate to the EHR: ${FHIR_AUTH_MODES.join(', ')}.`, { default: 'none' }),
  FHIR_BEARER_TOKEN: setting.string('Static bearer token for the EHR; required when FHIR_AUTH=bearer.', { secret: true }),
  SMART_CLIENT_ID: setting.string('SMART Backend Services client_id; required when FHIR_AUTH=smart-backend-services.'),
  SMART_PRIVATE_KEY_FILE: setting.string('File with the SMART Backend Services private key (PEM or JWK, RS384 or ES384); required when FHIR_AUTH=smart-backend-services.'),
  SMART_SCOPES: setting.string('Space-separated SMART v2 system scopes requested from the token endpoint.', { pattern: /^\S+( \S+)*$/, expected: 'space-separated scopes (single spaces, no leading or trailing space)', default: DEFAULT_SMART_SCOPES }),
  SMART_PREVIOUS_PRIVATE_KEY_FILE: setting.string('Key rotation: the previous SMART Backend Services private key file; its public key stays in /.well-known/jwks.json while SMART_PRIVATE_KEY_FILE signs.'),
  SMART_APP_CLIENT_ID: setting.string('client_id the EHR registered for the clinician review app (launch URL /review/launch).', { default: 'fhir-fusion-review' }),
  SMART_APP_ISSUERS: setting.list({ parse: parseUrl(HTTP), expected: 'http(s) FHIR base URLs' }, 'Comma-separated FHIR base URLs (iss) allowed to launch the review app; a launch from any other iss is refused. Empty: FHIR_BASE_URL only.', { default: [] }),
  SMART_APP_SCOPES: setting.string('Space-separated scopes the review app requests (SMART v2 patient/ scopes, launch, openid fhirUser; user/DiagnosticReport.r for the similar-cases panel).', { pattern: /^\S+( \S+)*$/, expected: 'space-separated scopes (single spaces, no leading or trailing space)', default: DEFAULT_SMART_APP_SCOPES }),
  REVIEW_FRAME_ANCESTORS: setting.list({ parse: parseString({ pattern: /^https?:\/\/[^/\s*]+$/ }), expected: 'http(s)://host[:port] origins' }, "Comma-separated origins allowed to embed the review app (and every other page) in a frame (CSP frame-ancestors, besides 'self'); never '*'.", { derived: { text: 'origins of SMART_APP_ISSUERS, else of FHIR_BASE_URL', derive: launchingEhrOrigins } }),
  CDS_HOOKS_CLIENTS: setting.stringMap('JSON object of CDS client JWT iss → JWKS URL of its signing keys (ES384/RS384); calls from any other iss are refused with 401.', { default: {} }),
  CDS_HOOKS_MAX_ASSESSMENT_AGE_MS: setting.durationMs('CDS Hooks cards show the risk only for assessments younger than this; older ones give an info card saying so.', { min: 1000, default: 7 * 24 * 3_600_000 }),
  CDS_HOOKS_MODELS: setting.list({ parse: parseString({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/ }), expected: 'model names' }, 'Comma-separated model names in order of preference: a CDS Hooks call gets one card, from the first of them that assessed the patient; empty: the served models in ACTIVE_MODELS order, then any other.', { default: [] }),
  CDS_HOOKS_MIN_RISK: setting.enum(RISK_LEVELS, `Lowest qualitative risk that gives a CDS Hooks card (${RISK_LEVELS.join(', ')}); below it no card. negligible also shows "cannot assess" cards.`, { default: 'moderate' }),
  CDS_HOOKS_CORS_ORIGINS: setting.list({ parse: parseString({ pattern: /^(\*|https?:\/\/[^/\s]+)$/ }), expected: '* or http(s)://host[:port] origins' }, 'Comma-separated origins allowed to call the CDS Hooks service from a browser (CORS); * allows any (calls still need a signed JWT).', { default: ['*'] }),
  WRITEBACK_FHIR_BASE_URL: setting.url('FHIR base URL that RiskAssessment, Provenance and Device resources are written to.', { derived: { text: 'FHIR_BASE_URL', derive: fhirBaseUrlOf } }),
  DICOMWEB_BASE_URL: setting.url("DICOMweb base URL of the PACS; its host is always allowed. Unset: use the ImagingStudy's endpoints only."),
  DICOMWEB_ALLOWED_HOSTS: setting.list({ parse: parseHostPort, expected: 'host or host:port' }, 'Comma-separated host[:port] entries that DICOMweb URLs found in EHR data may point to; others are never called.', { default: [] }),
  LOCALISATION_MIN_POINTING_GAME: setting.number("A model's localisation map is written to the PACS (DICOM SEG) and as an imaging-finding Observation only for a finding whose held-out evaluation in the manifest (metrics.localisation) has a pointing game whose lower 95 % bound is at least this and whose mean is not below the anatomical-prior baseline; otherwise, or without figures, no SEG and the RiskAssessment says not-validated.", { min: 0, max: 1, default: 0.85 }),
  LOCALISATION_MIN_PRECISION: setting.number("A finding localiser's map (manifest imageFindings) is shown only when the model calls the finding; it is written only when the held-out precision of that call (metrics.localisation presence) has a lower 95 % bound of at least this, so a region is not drawn on films that do not show the finding.", { min: 0, max: 1, default: 0.8 }),
  MODELS_DIR: setting.string('Model repository folder, laid out as <name>/<version>/{model.onnx,manifest.json,card.md}.', { default: 'models' }),
  SIMILAR_CASES_MODEL: setting.string('name@version of the ECG ↔ report embedding model (MODELS_DIR/<name>/<version>/embedding-manifest.json) that indexes assessed patients and answers $similar-cases; off disables similar-case retrieval.', { pattern: /^(off|[A-Za-z0-9._-]+@[A-Za-z0-9._-]+)$/, expected: 'name@version or off', default: 'ecg-report-clip@1' }),
  DESCRIPTION_MODEL: setting.string('name@version of the image-to-text model (MODELS_DIR/<name>/<version>/) that drafts a description of each assessed chest radiograph, written back with the assessment as a preliminary, AI-labelled DiagnosticReport that only a clinician can make final in the review app; off drafts nothing.', { pattern: /^(off|[A-Za-z0-9._-]+@[A-Za-z0-9._-]+)$/, expected: 'name@version or off', default: 'off' }),
  ACTIVE_MODELS: setting.list({ parse: parseString({ pattern: MODEL_REF }), expected: 'name@version' }, 'Comma-separated name@version of the models to serve; empty serves every model in MODELS_DIR.', { default: [] }),
  EXECUTION_PROVIDERS: setting.list({ parse: parseEnum(EXECUTION_PROVIDER_NAMES), expected: EXECUTION_PROVIDER_NAMES.join(' or '), }, `Comma-separated ONNX Runtime execution providers in preference order: ${EXECUTION_PROVIDER_NAMES.join(', ')}.`, { default: ['cpu'] }),
  INFERENCE_THREADS: setting.integer('Worker threads that run ONNX sessions (session.run blocks its thread).', { min: 1, max: 256, derived: { text: 'min(2, CPU cores)', derive: () => Math.min(2, availableParallelism()) } }),
  TENSOR_CACHE_MAX_BYTES: setting.integer('Memory for preprocessed image/ECG tensors, so an unchanged input is not decoded again (keyed by content and preprocessing settings). 0 disables the cache.', { min: 0, default: 128 * 1024 * 1024 }),
  TENSOR_CACHE_MAX_ENTRIES: setting.integer('Most preprocessed image/ECG tensors kept in memory. 0 disables the cache.', { min: 0, default: 2048 }),
  BATCH_MAX_SIZE: setting.integer('Largest micro-batch of patients sent to one session.run.', { min: 1, max: 4096, default: 32 }),
  BATCH_MAX_DELAY_MS: setting.durationMs('Longest time a request waits for its micro-batch to fill.', { min: 0, max: 60_000, default: 5 }),
  INFERENCE_QUEUE_LIMIT: setting.integer('Inference requests waiting at once before new ones are refused (back-pressure).', { min: 1, default: 1024 }),
  INFERENCE_BACKEND: setting.enum(['local', 'kserve-v2'] as const, 'Where inference batches run: local (ONNX Runtime in worker threads) or kserve-v2 (a Triton / KServe V2 HTTP server serving the same model repository; models are still verified locally).', { default: 'local' }),
  KSERVE_BASE_URL: setting.url('Base URL of the KServe V2 / Triton HTTP endpoint (e.g. http://triton:8000); required when INFERENCE_BACKEND=kserve-v2.'),
  INTAKE_MAX_BODY_BYTES: setting.integer('Largest subscription notification body accepted, in bytes.', { min: 1024, default: 1_048_576 }),
  SUBSCRIPTION_SECRETS: setting.stringMap('JSON object of Subscription id → shared secret that the notifications of that Subscription must carry.', { secret: true, default: {} }),
  SUBSCRIPTION_MODE: setting.enum(['auto', 'criteria', 'topic', 'polling'] as const, 'How `subscriptions sync` subscribes: auto (topic-based where the EHR offers it — R4: the CapabilityStatement advertises the Subscriptions Backport IG; R4B/R5: it publishes SubscriptionTopics for the watched types — else criteria on R4/R4B and polling on R5, which has no criteria subscriptions), criteria, topic, or polling (no subscriptions: `_lastUpdated` searches).', { default: 'auto' }),
  SUBSCRIPTION_HEARTBEAT_S: setting.integer('Heartbeat period requested for topic-based subscriptions, in seconds; silence for twice as long triggers `$status`.', { min: 1, max: 86_400, default: 60 }),
  SUBSCRIPTION_CHECK_INTERVAL_MS: setting.durationMs('How often missed heartbeats are checked and polling-mode searches run.', { min: 100, max: 3_600_000, default: 10_000 }),
  SUBSCRIPTION_EVENT_GAP_WINDOW: setting.integer('Largest jump in Backport `events-since-subscription-start` whose missing event numbers are fetched one by one with `$events`; a larger jump is reconciled by one `_lastUpdated` search instead, so no notification costs more than this many inbox rows.', { min: 1, max: 10_000, default: 100 }),
  INTAKE_REPLAY_WINDOW_S: setting.integer('How long the hash of each authenticated delivery is remembered per subscription: a byte-identical delivery within this window is answered 200 and stored nothing; a delivery whose timestamp header is older than this is refused.', { min: 60, max: 30 * 86_400, default: 86_400 }),
  HL7_MLLP_PORT: setting.integer('TCP port of the HL7 v2 MLLP listener (ORU^R01 results in, ACK out; docs/hl7v2-intake.md), bound on HOST. Unset: no listener. 0 picks a free port (tests). Not opened by the `worker` role.', { min: 0, max: 65_535 }),
  HL7_MAX_MESSAGE_BYTES: setting.integer('Largest HL7 v2 message (MLLP frame payload) accepted, in bytes; a larger frame closes the connection.', { min: 1024, max: 64 * 1_048_576, default: 4 * 1_048_576 }),
  HL7_FRAME_TIMEOUT_MS: setting.durationMs('A started MLLP frame must end within this time, or the connection is closed (slow senders cannot hold a connection open byte by byte).', { min: 100, max: 600_000, default: 30_000 }),
  HL7_IDLE_TIMEOUT_MS: setting.durationMs('An MLLP connection that sends nothing for this long is closed (senders reconnect).', { min: 1000, max: 86_400_000, default: 600_000 }),
  HL7_MAX_CONNECTIONS: setting.integer('MLLP connections served at once; further connections are closed on accept.', { min: 1, max: 10_000, default: 64 }),
  HL7_MLLP_ALLOWED_ADDRESSES: setting.list({ parse: parseString({ pattern: IP_ADDRESS }), expected: 'IPv4 or IPv6 addresses' }, 'Comma-separated IP addresses the MLLP listener accepts connections from (MLLP has no authentication); empty: any address, so restrict the port at the network.', { default: [] }),
  HL7_ASSIGNING_AUTHORITIES: setting.stringMap('JSON object of PID-3 assigning authority (CX.4 namespace id or universal id) → FHIR Identifier.system, for authorities that are not an ISO OID, UUID or URI.', { default: {} }),
  DICOM_PORT: setting.integer('TCP port of the DICOM DIMSE C-STORE/C-ECHO SCP (docs/dicom-dimse-intake.md), bound on HOST. Unset: no listener. 0 picks a free port (tests). Not opened by the `worker` role. Received instances go to DICOMWEB_BASE_URL by STOW-RS, which must then be set.', { min: 0, max: 65_535 }),
  DICOM_AE_TITLE: setting.string("fhir-fusion's own AE title (the Called AE Title associations must name; PS3.8 §9.3.2).", { pattern: /^[\x20-\x5b\x5d-\x7e]{1,16}$/, default: 'FHIRFUSION' }),
  DICOM_ALLOWED_CALLING_AE_TITLES: setting.list({ parse: parseString({ pattern: /^[\x20-\x5b\x5d-\x7e]{1,16}$/ }), expected: 'AE titles (1-16 characters, no backslash)', }, 'Comma-separated Calling AE Titles whose associations are accepted; any other caller is rejected (calling-AE-title-not-recognized). Empty: every association is rejected.', { default: [] }),
  DICOM_STUDY_QUIET_MS: setting.durationMs('A study counts as complete when no instance of it has arrived for this long; then its ImagingStudy is ensured in the EHR and the patient is assessed. Studies inside it are recorded in Postgres, so a restart hands them over once.', { min: 100, max: 86_400_000, default: 30_000 }),
  DICOM_ISSUER_SYSTEMS: setting.stringMap('JSON object of Issuer of Patient ID (0010,0021) → FHIR Identifier.system, for issuers that are not a URI; "" maps instances without an issuer.', { default: {} }),
  COALESCE_WINDOW_MS: setting.durationMs('Notifications for one patient within this window become one job.', { min: 0, max: 3_600_000, default: 2000 }),
  JOB_RETRY_LIMIT: setting.integer('Retries of a failed job before it is dead-lettered.', { min: 0, max: 100, default: 8 }),
  JOB_RETRY_DELAY_S: setting.integer('Delay before the first retry, in seconds; doubles on each further retry.', { min: 0, max: 86_400, default: 2 }),
  JOB_EXPIRE_S: setting.integer('Seconds a claimed job may run before it is presumed lost (worker killed) and retried elsewhere; keep it above the slowest assessment.', { min: 5, max: 86_400, default: 300 }),
  JOB_MAINTENANCE_INTERVAL_S: setting.integer('How often queue maintenance reclaims expired jobs, in seconds (reclaim delay is at most expiry + this).', { min: 1, max: 3600, default: 60 }),
  JOB_CONCURRENCY: setting.integer('Jobs this process works on at once.', { min: 1, max: 1024, default: 4 }),
  OUTBOUND_TIMEOUT_MS: setting.durationMs('Timeout of every outbound HTTP call (FHIR, DICOMweb, token endpoint).', { min: 1, max: 600_000, default: 10_000 }),
  METRICS_ENABLED: setting.boolean('Serve Prometheus metrics at /metrics.', { default: true }),
  MONITORING_INTERVAL_MS: setting.durationMs('How often the model monitor labels matured assessments from the EHR (Condition / Encounter.diagnosis) and recomputes outcome metrics and input drift for /metrics and the operator page; 0 turns monitoring off. Runs only where models are loaded (not the intake role).', { min: 0, max: 7 * 86_400_000, default: 3_600_000 }),
  MONITORING_LABEL_WINDOW_DAYS: setting.integer("Days after an assessment in which a Condition with an outcome's code makes it positive (as `fhir-fusion validate --window-days`); an assessment is labelled once this window has closed.", { min: 1, max: 365, default: 30 }),
  MONITORING_OUTCOME_WINDOW_DAYS: setting.integer('Rolling window of the outcome metrics: assessments written in this many days before the newest whose label window has closed (the latest per patient, model and outcome).', { min: 1, max: 3650, default: 90 }),
  MONITORING_DRIFT_WINDOW_DAYS: setting.integer('Rolling window of input drift and of missing / out-of-distribution rates: assessments written in the last this many days.', { min: 1, max: 365, default: 7 }),
  MONITORING_MIN_CASES: setting.integer('Fewest cases (labelled assessments for calibration, assessments with the feature for drift) before a bound can raise an alert: smaller windows are shown but too noisy to alert on.', { min: 1, default: 200 }),
  MONITORING_MAX_CALIBRATION_ERROR: setting.number("Alert (kind=calibration) when a model's 10-bin expected calibration error on an outcome over the rolling window exceeds this.", { min: 0, max: 1, default: 0.1 }),
  MONITORING_MAX_DRIFT_SMD: setting.number('Alert (kind=drift) when the absolute standardised mean difference of a tabular feature or modality statistic, drift window against the training split, exceeds this (in training standard deviations).', { min: 0, default: 0.25 }),
  VALIDATION_WORKER: setting.boolean('Validate write-back Bundles against the fhir-fusion profiles in a worker thread (its own R4 type index), so validation never blocks the event loop; costs a second type index in memory and a copy of each Bundle. false validates on the main thread.', { default: false }),
  STAGE_CPU_ACCOUNTING: setting.boolean('Charge main-thread time to pipeline stages (intake, queue, assembly, preprocessing per modality, inference, explanation, validation, write-back, ledger) for `bench cpu-per-patient`; hooks every callback, so off in production.', { default: false }),
  TRACING_ENABLED: setting.boolean('Emit trace spans.', { default: false }),
  // 100/s: an EHR is one client and delivers bursts (e.g. a lab batch); abusive clients still stop.
  RATE_LIMIT_MAX: setting.integer('Requests one client (IP) may make per RATE_LIMIT_WINDOW_MS before 429 Too Many Requests.', { min: 1, default: 6000 }),
  RATE_LIMIT_WINDOW_MS: setting.durationMs('Window of the per-client rate limit.', { min: 1000, max: 3_600_000, default: 60_000 }),
  OPERATOR_TOKEN: setting.string('Bearer token required by the operator page (GET /, /api/assessments); unset, only loopback callers may open it.', { secret: true }),
  AUDIT_RETENTION_DAYS: setting.integer('Days rows of the EHR audit trail (every read from and write to the EHR) are kept.', { min: 1, default: 2190 }),
};

/** The value a setting holds: its parser's type, or `undefined` too when it is optional without a default. */
type SettingValue<D> =
  D extends SettingDefinition<infer T>
    ? D extends { default: SettingDefault<unknown> }
      ? T
      : D extends { required: true }
        ? T
        : T | undefined
    : never;

/**
 * The server's validated configuration, derived from the settings table above: each key is an
 * environment variable name (so the README, the JSON config file and the code use one spelling)
 * and its type is what the setting's parser returns; optional settings without a default are
 * `undefined` when unset. Objects returned by `loadConfig` are deeply frozen.
 */
export type Config = { -readonly [K in keyof typeof SETTINGS]: SettingValue<(typeof SETTINGS)[K]> };

/** The declaration of every setting, in documentation order. */
export type ConfigSchema = {
  readonly [K in keyof Config]-?: SettingDefinition<NonNullable<Config[K]>>;
};

/** Every setting fhir-fusion reads. */
export const CONFIG_SCHEMA: ConfigSchema = SETTINGS;

/** Every setting key, in documentation order. */
export const CONFIG_KEYS = Object.keys(CONFIG_SCHEMA) as ReadonlyArray<keyof Config>;
