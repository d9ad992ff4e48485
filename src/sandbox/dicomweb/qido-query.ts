import type { Part10Reader } from './dcmjs-reader.js';
import type { DicomJsonDataset } from './dicom-json.js';

/** QIDO-RS query level (DICOM PS3.18 §10.6). */
export type QidoLevel = 'study' | 'series' | 'instance';

/** One attribute match condition. */
export interface AttributeFilter {
  tag: string;
  vr: string;
  /** The raw matching value; empty means universal matching (return the attribute). */
  value: string;
}

/** A parsed QIDO-RS query string. */
export interface QidoQuery {
  filters: AttributeFilter[];
  /** Extra attributes to return; `all` returns every attribute of the level. */
  includeFields: string[] | 'all';
  limit: number | undefined;
  offset: number;
  fuzzyMatching: boolean;
}

/** A query-string parameter that could not be understood; `parameter` names it. */
export interface QidoQueryError {
  ok: false;
  parameter: string;
  message: string;
}

const TAG_PATTERN = /^[0-9A-Fa-f]{8}$/;

/** Resolves `PatientID` or `00100020` to a tag and VR through the data dictionary (PS3.6). */
function resolveAttribute(name: string, reader: Part10Reader): { tag: string; vr: string } | undefined {
  if (TAG_PATTERN.test(name)) {
    const tag = name.toUpperCase();
    return { tag, vr: reader.lookupTag(tag)?.vr ?? 'UN' };
  }
  return reader.lookupKeyword(name);
}

/**
 * Parses QIDO-RS query parameters (PS3.18 §8.3.4): `{attributeID}={value}` match keys by keyword
 * or tag, `includefield` (repeatable, comma-separated, or `all`), `limit`, `offset`,
 * `fuzzymatching`. Nested paths (`00400275.00321060`) are not supported and reported as such.
 */
export function parseQidoQuery(
  query: Record<string, string | string[] | undefined>,
  reader: Part10Reader,
): { ok: true; value: QidoQuery } | QidoQueryError {
  const filters: AttributeFilter[] = [];
  let includeFields: string[] | 'all' = [];
  let limit: number | undefined;
  let offset = 0;
  let fuzzyMatching = false;
  for (const [name, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    switch (name.toLowerCase()) {
      case 'includefield': {
        for (const entry of values.flatMap((v) => v.split(','))) {
          const field = entry.trim();
          if (!field) continue;
          if (field === 'all') {
            includeFields = 'all';
            continue;
          }
          const attribute = resolveAttribute(field, reader);
          if (!attribute)
            return { ok: false, parameter: 'includefield', message: `unknown attribute "${field}"` };
          if (includeFields !== 'all') includeFields.push(attribute.tag);
        }
        break;
      }
      case 'limit':
      case 'offset': {
        const last = values[values.length - 1] ?? '';
        if (!/^\d+$/.test(last))
          return { ok: false, parameter: name, message: `${name} must be a non-negative integer` };
        if (name.toLowerCase() === 'limit') limit = Number(last);
        else offset = Number(last);
        break;
      }
      case 'fuzzymatching':
        fuzzyMatching = values[values.length - 1] === 'true';
        break;
      default: {
        if (name.includes('.')) {
          return {
            ok: false,
            parameter: name,
            message: 'sequence (nested) attribute matching is not supported',
          };
        }
        const attribute = resolveAttribute(name, reader);
        if (!attribute) return { ok: false, parameter: name, message: `unknown query parameter "${name}"` };
        for (const value of values) filters.push({ ...attribute, value });
      }
    }
  }
  return { ok: true, value: { filters, includeFields, limit, offset, fuzzyMatching } };
}

/** Values of an attribute as strings (PN: the Alphabetic group). */
export function attributeStrings(dataset: DicomJsonDataset, tag: string): string[] {
  const values = dataset[tag]?.Value ?? [];
  return values
    .map((value) => {
      if (value === null || value === undefined) return '';
      if (typeof value === 'object') {
        const alphabetic = (value as { Alphabetic?: unknown }).Alphabetic;
        return typeof alphabetic === 'string' ? alphabetic : '';
      }
      return String(value);
    })
    .filter((v) => v !== '');
}

function wildcardToRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, caseInsensitive ? 'i' : '');
}

/**
 * Whether one value satisfies a match key, following PS3.4 §C.2.2.2: universal matching (empty),
 * UID list matching (`\`- or comma-separated, PS3.18 §8.3.4.1), range matching for DA/TM/DT
 * (`from-to`, either side open), wild card matching (`*`, `?`) and single value matching. PN
 * matching is case-insensitive, as PS3.18 §8.3.4.6 allows.
 */
export function matchesValue(filter: AttributeFilter, candidates: string[], fuzzy: boolean): boolean {
  const { value, vr } = filter;
  if (value === '') return true;
  if (vr === 'UI') {
    const uids = value.split(/[\\,]/).map((u) => u.trim());
    return candidates.some((c) => uids.includes(c));
  }
  if ((vr === 'DA' || vr === 'TM' || vr === 'DT') && value.includes('-')) {
    const [from = '', to = ''] = value.split('-');
    return candidates.some((c) => (from === '' || c >= from) && (to === '' || c.slice(0, to.length) <= to));
  }
  const caseInsensitive = vr === 'PN' || fuzzy;
  const alternatives = value.split('\\');
  return candidates.some((c) =>
    alternatives.some((alternative) =>
      /[*?]/.test(alternative)
        ? wildcardToRegExp(alternative, caseInsensitive).test(c)
        : caseInsensitive
          ? c.toLowerCase() === alternative.toLowerCase() ||
            (vr === 'PN' && fuzzy && c.toLowerCase().startsWith(alternative.toLowerCase()))
          : c === alternative,
    ),
  );
}
