import type { OperationOutcome } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { outcome } from '../fhir/operation-outcome.js';
import type { Result } from '../contracts/result.js';
import type { IntakeEvent, NotificationDialect } from '../contracts/intake-event.js';
import { isWatchedResourceType, patientIdFromReference, WATCHED_RESOURCE_TYPES } from './resource-subject.js';
import { findUnstorableText } from './unstorable-text.js';

/** How a delivery fails at the intake: the HTTP status and the OperationOutcome to answer with. */
export interface IntakeRejection {
  status: number;
  outcome: OperationOutcome;
}

/** Result of parsing a delivery: the value, or the {@link IntakeRejection} to answer with. */
export type IntakeParseResult<T> = Result<T, IntakeRejection>;

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/; // FHIR R4 §2.24.0.1 id datatype

/** Parses a JSON body into an object, or a 400 `structure` OperationOutcome. */
export function parseJsonObject(raw: Buffer): IntakeParseResult<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return {
      ok: false,
      status: 400,
      outcome: outcome('structure', `Body is not valid JSON: ${(err as Error).message.slice(0, 120)}`),
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, status: 400, outcome: outcome('structure', 'Body must be a JSON object (a FHIR resource)') };
  }
  // Refused here, before anything is stored: Postgres jsonb would answer with an error (a 500).
  const unstorable = findUnstorableText(value);
  if (unstorable) {
    const what = unstorable.reason === 'nul' ? 'the NUL character (U+0000)' : 'an unpaired UTF-16 surrogate';
    const where = unstorable.inName ? 'A property name in this element' : 'This string';
    return {
      ok: false,
      status: 400,
      outcome: outcome('invalid', `${where} contains ${what}, which cannot be stored`, unstorable.expression),
    };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * Parses an R4 classic rest-hook delivery carrying the resource itself (Medplum POSTs it; HAPI FHIR
 * PUTs it to `{endpoint}/{type}/{id}`, R4 §Subscription "rest-hook"). The resource must be one of
 * the watched types, carry an id and name its patient in `subject`.
 */
export function parseRestHookResource(
  raw: Buffer,
  dialect: Extract<NotificationDialect, 'rest-hook-post' | 'rest-hook-put'>,
  pathTarget?: { type: string; id: string },
): IntakeParseResult<IntakeEvent> {
  const parsed = parseJsonObject(raw);
  if (!parsed.ok) return parsed;
  const resource = parsed.value;
  const type = resource.resourceType;
  if (typeof type !== 'string') {
    return { ok: false, status: 400, outcome: outcome('required', 'resourceType is missing: not a FHIR resource', 'resourceType') };
  }
  if (!isWatchedResourceType(type)) {
    return {
      ok: false,
      status: 422,
      outcome: outcome('not-supported', `Resource type ${type} is not one of ${WATCHED_RESOURCE_TYPES.join(', ')}`, 'resourceType'),
    };
  }
  const id = resource.id;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    return { ok: false, status: 400, outcome: outcome('required', `${type}.id is missing or not a valid id`, `${type}.id`) };
  }
  if (pathTarget && (pathTarget.type !== type || pathTarget.id !== id)) {
    return {
      ok: false,
      status: 400,
      outcome: outcome('invalid', `URL names ${pathTarget.type}/${pathTarget.id} but the body is ${type}/${id}`, `${type}.id`),
    };
  }
  const subject = (resource.subject as { reference?: unknown } | undefined)?.reference;
  const patientId = patientIdFromReference(subject);
  if (!patientId) {
    return {
      ok: false,
      status: 422,
      outcome: outcome('required', `${type}.subject must reference a Patient`, `${type}.subject.reference`),
    };
  }
  const meta = resource.meta as { versionId?: unknown } | undefined;
  const versionId = typeof meta?.versionId === 'string' ? meta.versionId : undefined;
  // Without a versionId the content hash stands in, so an identical redelivery is still a no-op.
  const version = versionId ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  return {
    ok: true,
    value: {
      dialect,
      dedupeKey: `${type}/${id}/_history/${version}`,
      resourceType: type,
      resourceId: id,
      versionId,
      patientId,
      payload: resource,
    },
  };
}
