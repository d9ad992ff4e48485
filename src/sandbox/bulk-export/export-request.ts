import type { OperationOutcome } from '@medplum/fhirtypes';
import { outcome } from '../../fhir/operation-outcome.js';

/** Resource types the sandbox exports, and which ones are in the Patient compartment. */
export const PATIENT_COMPARTMENT_TYPES = ['Patient', 'Observation', 'DiagnosticReport', 'ImagingStudy'] as const;

/**
 * Patient-compartment types exported only when `_type` names them: the outcome record
 * (`Condition`, `Encounter`) that `fhir-fusion validate` labels patients from (issue 19 point 5).
 * Kept out of the default so an export without `_type` returns what it always has.
 */
export const ON_REQUEST_TYPES = ['Condition', 'Encounter'] as const;

/** A parsed Bulk Data kick-off request (Bulk Data Access 2.0 §Query Parameters). */
export interface ExportRequest {
  level: 'system' | 'patient' | 'group';
  groupId?: string;
  types: string[];
  since?: Date;
  /** `_typeFilter` entries: a resource type and its FHIR search query string. */
  typeFilters: Array<{ resourceType: string; query: string }>;
}

/** Result of parsing: the request, or an OperationOutcome whose `expression` names the parameter. */
export type ParsedExportRequest = { ok: true; value: ExportRequest } | { ok: false; outcome: OperationOutcome };

const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);

function fail(message: string, expression: string): ParsedExportRequest {
  return { ok: false, outcome: outcome('invalid', message, expression) };
}

/**
 * Parses the kick-off query: `_type` (comma-separated, also repeatable), `_since` (FHIR instant),
 * `_typeFilter` (`Type?query`, comma-separated), `_outputFormat` (NDJSON only). Unknown
 * parameters are ignored, as the IG allows when `Prefer: handling=lenient`; types outside what the
 * level can export are refused with 400 (§Bulk Data Kick-off Request, "_type").
 */
export function parseExportRequest(
  level: ExportRequest['level'],
  query: Record<string, string | string[] | undefined>,
  groupId?: string,
): ParsedExportRequest {
  const list = (name: string): string[] => {
    const raw = query[name];
    const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
  };
  const allowed: readonly string[] = level === 'system' ? [...PATIENT_COMPARTMENT_TYPES, 'Endpoint', 'Group'] : PATIENT_COMPARTMENT_TYPES;
  const requested = list('_type');
  for (const type of requested) {
    if (!allowed.includes(type) && !(ON_REQUEST_TYPES as readonly string[]).includes(type)) {
      return fail(`_type ${type} is not exported at this level`, '_type');
    }
  }
  const types = requested.length > 0 ? requested : [...allowed];
  const format = query._outputFormat;
  if (typeof format === 'string' && !NDJSON_FORMATS.has(format)) {
    return fail(`_outputFormat ${format} is not supported (NDJSON only)`, '_outputFormat');
  }
  let since: Date | undefined;
  if (typeof query._since === 'string') {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(query._since)) {
      return fail('_since must be a FHIR instant', '_since');
    }
    since = new Date(query._since);
  }
  const typeFilters: ExportRequest['typeFilters'] = [];
  for (const filter of list('_typeFilter')) {
    const mark = filter.indexOf('?');
    const resourceType = mark > 0 ? filter.slice(0, mark) : '';
    if (!resourceType || !types.includes(resourceType)) {
      return fail(`_typeFilter ${filter} must be Type?query for an exported type`, '_typeFilter');
    }
    typeFilters.push({ resourceType, query: decodeURIComponent(filter.slice(mark + 1)) });
  }
  return { ok: true, value: { level, groupId, types, since, typeFilters } };
}
