/**
 * Removes patient data and credentials from anything about to be logged.
 *
 * pino's `redact` paths match fixed positions (`a.b`, `*.b`), but FHIR resources nest patient data at
 * any depth (`entry[].resource.contained[].name[].given`), and every `value[x]` choice type has its
 * own key (FHIR R4 §2.24.0.1 "Choice of Data Types"). So keys are matched by name here, at every
 * depth, and the logger runs this on every object it sees.
 */

/** Text that replaces a redacted value. */
export const REDACTED = '[Redacted]';

/**
 * Keys whose values are patient data: demographics (Patient.name, birthDate, identifier, telecom,
 * address), narrative and free text (`text`, DiagnosticReport.conclusion, presentedForm), binary
 * payloads (Attachment.data, SampledData.data) and pg error `detail`, which quotes row values.
 */
const PATIENT_KEYS = new Set([
  'name',
  'given',
  'family',
  'birthdate',
  'identifier',
  'telecom',
  'address',
  'text',
  'div',
  'conclusion',
  'presentedform',
  'data',
  'detail',
  'note',
  'comment',
  'photo',
  'contact',
]);

/** Every FHIR `value[x]` (valueQuantity, valueString, …), plus plain `value`/`values`. */
const VALUE_KEY = /^value/i;

/** Credentials: Authorization and Cookie headers, signature headers, secrets, tokens, passwords. */
const CREDENTIAL_KEY =
  /authorization|cookie|signature|secret|token|password|passwd|api[-_]?key|client[-_]?assertion/i;

/** Deeper than this is cut off: log objects are small, and this bounds work on hostile input. */
const MAX_DEPTH = 16;

/** True when a value under this key must never reach a log line. */
export function isSensitiveKey(key: string): boolean {
  return PATIENT_KEYS.has(key.toLowerCase()) || VALUE_KEY.test(key) || CREDENTIAL_KEY.test(key);
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function scrub(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return '[Too deep]';
  if (seen.has(value)) return '[Circular]';
  if (Array.isArray(value)) {
    seen.add(value);
    const copy = value.map((item) => scrub(item, depth + 1, seen));
    seen.delete(value);
    return copy;
  }
  // Errors, Buffers, Dates and class instances keep their own serialization (pino's serializers);
  // errors are scrubbed by the logger's `err` serializer instead.
  if (!isPlainObject(value)) return value;
  seen.add(value);
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = isSensitiveKey(key) ? REDACTED : scrub(inner, depth + 1, seen);
  }
  seen.delete(value);
  return copy;
}

/**
 * A copy of `value` with every sensitive key's value replaced by {@link REDACTED}, at any depth of
 * plain objects and arrays. The input is never modified.
 */
export function redactPatientData<T>(value: T): T {
  return scrub(value, 0, new WeakSet()) as T;
}

/**
 * A copy of `object` with only its own sensitive keys replaced; values are not descended into.
 * Returns `object` itself when nothing needed replacing (the common case, and a hot path).
 */
export function redactTopLevelKeys(object: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(object).some(isSensitiveKey)) return object;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) copy[key] = isSensitiveKey(key) ? REDACTED : value;
  return copy;
}
