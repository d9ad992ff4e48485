import { withoutTrailingSlash } from '../contracts/base-url.js';
import { err, type Result } from '../contracts/result.js';

/**
 * Parsers for one configuration value of each setting type. Values arrive either as strings (from
 * environment variables or `*_FILE` secret files) or as JSON values (from the config file), so every
 * parser accepts both and reports what it expected instead of throwing.
 */

/** A raw value as read from the environment (string) or the JSON config file (any JSON value). */
export type RawSettingValue =
  string | number | boolean | null | readonly unknown[] | { readonly [key: string]: unknown };

/** Result of parsing one raw value: the typed value, or a description of what was expected. */
export type SettingParseResult<T> = Result<T, { expected: string }>;

/** Parses one raw value into a typed setting value. */
export type SettingParser<T> = (raw: RawSettingValue) => SettingParseResult<T>;

function fail<T>(expected: string): SettingParseResult<T> {
  return err({ expected });
}

/** A non-empty string; numbers and booleans from the JSON file are accepted as their text. */
export function parseString(options: { pattern?: RegExp; expected?: string } = {}): SettingParser<string> {
  const expected = options.expected ?? 'a non-empty string';
  return (raw) => {
    const text = typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
    if (typeof text !== 'string' || text.trim() === '') return fail(expected);
    if (options.pattern && !options.pattern.test(text)) return fail(expected);
    return { ok: true, value: text };
  };
}

/**
 * An absolute URL whose scheme is one of `protocols` (e.g. `['http:', 'https:']`). HTTP(S) URLs are
 * base URLs that paths are appended to, so they must have a host and no query or fragment, and
 * trailing slashes are removed (FHIR R4 §3.1.0.1.2: the Service Base URL has no trailing slash).
 */
export function parseUrl(protocols: readonly string[]): SettingParser<string> {
  const schemes = protocols.map((protocol) => protocol.replace(/:$/, '')).join(' or ');
  const http = protocols.every((protocol) => protocol === 'http:' || protocol === 'https:');
  const expected = http
    ? `an absolute URL with scheme ${schemes}, a host, and no query or fragment`
    : `an absolute URL with scheme ${schemes}`;
  return (raw) => {
    if (typeof raw !== 'string' || raw.trim() === '') return fail(expected);
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      return fail(expected);
    }
    if (!protocols.includes(url.protocol)) return fail(expected);
    if (!http) return { ok: true, value: raw.trim() };
    if (
      url.hostname === '' ||
      url.search !== '' ||
      url.hash !== '' ||
      raw.includes('?') ||
      raw.includes('#')
    ) {
      return fail(expected);
    }
    return { ok: true, value: withoutTrailingSlash(raw.trim()) };
  };
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return '';
}

function toNumber(raw: RawSettingValue, integer: boolean): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  const pattern = integer ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  return pattern.test(text) ? Number(text) : undefined;
}

/** A whole number within `[min, max]`. */
export function parseInteger(options: { min?: number; max?: number } = {}): SettingParser<number> {
  return parseBoundedNumber(true, options);
}

/** A finite number within `[min, max]`. */
export function parseNumber(options: { min?: number; max?: number } = {}): SettingParser<number> {
  return parseBoundedNumber(false, options);
}

function parseBoundedNumber(integer: boolean, options: { min?: number; max?: number }): SettingParser<number> {
  const expected = `${integer ? 'an integer' : 'a number'}${rangeText(options.min, options.max)}`;
  const valid = integer ? Number.isSafeInteger : Number.isFinite;
  return (raw) => {
    const value = toNumber(raw, integer);
    if (value === undefined || !valid(value)) return fail(expected);
    if (options.min !== undefined && value < options.min) return fail(expected);
    if (options.max !== undefined && value > options.max) return fail(expected);
    return { ok: true, value };
  };
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case). */
export function parseBoolean(): SettingParser<boolean> {
  const expected = 'a boolean (true or false)';
  return (raw) => {
    if (typeof raw === 'boolean') return { ok: true, value: raw };
    if (typeof raw !== 'string') return fail(expected);
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return { ok: true, value: true };
    if (FALSE_WORDS.has(word)) return { ok: true, value: false };
    return fail(expected);
  };
}

/** One of a fixed set of words (exact match, case-sensitive as the values are documented). */
export function parseEnum<T extends string>(values: readonly T[]): SettingParser<T> {
  const expected = `one of ${values.join(', ')}`;
  return (raw) => {
    if (typeof raw !== 'string') return fail(expected);
    const word = raw.trim();
    return (values as readonly string[]).includes(word) ? { ok: true, value: word as T } : fail(expected);
  };
}

/**
 * A list: comma-separated in the environment, a JSON array of strings in the file. Empty items are
 * dropped, duplicates removed (first wins), and each item checked by `item`.
 */
export function parseList<T extends string>(item: {
  parse: SettingParser<T>;
  expected: string;
}): SettingParser<readonly T[]> {
  const expected = `a comma-separated list of ${item.expected}`;
  return (raw) => {
    let parts: unknown[];
    if (typeof raw === 'string') parts = raw.split(',');
    else if (Array.isArray(raw)) parts = [...raw];
    else return fail(expected);
    const values: T[] = [];
    for (const part of parts) {
      if (typeof part !== 'string') return fail(expected);
      if (part.trim() === '') continue;
      const parsed = item.parse(part.trim());
      if (!parsed.ok) return fail(expected);
      if (!values.includes(parsed.value)) values.push(parsed.value);
    }
    return { ok: true, value: values };
  };
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration in milliseconds: a whole number of ms, or a number with unit `ms`, `s`, `m` or `h`. */
export function parseDurationMs(options: { min?: number; max?: number } = {}): SettingParser<number> {
  const expected = `a duration in milliseconds${rangeText(options.min, options.max)} (e.g. 500, 500ms, 2s, 1m)`;
  return (raw) => {
    let value: number | undefined;
    if (typeof raw === 'number') value = raw;
    else if (typeof raw === 'string') {
      const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(raw.trim());
      if (match?.[1]) value = Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? 1);
    }
    if (value === undefined || !Number.isSafeInteger(value)) return fail(expected);
    if (options.min !== undefined && value < options.min) return fail(expected);
    if (options.max !== undefined && value > options.max) return fail(expected);
    return { ok: true, value };
  };
}

/**
 * A map of string keys to non-empty string values: a JSON object in the file, a JSON object text in
 * the environment. An empty string means an empty map.
 */
export function parseStringMap(): SettingParser<Readonly<Record<string, string>>> {
  const expected = 'a JSON object of string keys to non-empty string values';
  return (raw) => {
    let value: unknown = raw;
    if (typeof raw === 'string') {
      if (raw.trim() === '') return { ok: true, value: {} };
      try {
        value = JSON.parse(raw) as unknown;
      } catch {
        return fail(expected);
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(expected);
    const map: Record<string, string> = {};
    for (const [key, entry] of Object.entries(value)) {
      if (typeof entry !== 'string' || entry === '' || key === '') return fail(expected);
      map[key] = entry;
    }
    return { ok: true, value: map };
  };
}
