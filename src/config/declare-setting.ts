import type {
  ResolvedSettings,
  SettingDefault,
  SettingDefinition,
  SettingType,
} from './setting-definition.js';
import {
  parseBoolean,
  parseDurationMs,
  parseEnum,
  parseInteger,
  parseList,
  parseNumber,
  parseString,
  parseStringMap,
  parseUrl,
  type SettingParser,
} from './setting-parsers.js';

/**
 * What a declaration adds to its parser. Everything is optional: a setting is neither secret nor
 * required unless it says so, and has no default unless it names one, so the table in
 * `config-schema.ts` states only what sets a setting apart.
 */
export interface SettingOptions<T> {
  /** A fixed default. */
  default?: T;
  /** A default derived from other settings once they are parsed; `text` documents it. */
  derived?: { text: string; derive: (resolved: ResolvedSettings) => T | undefined };
  /** Never echoed in errors or logs; may be read from `<KEY>_FILE`. */
  secret?: true;
  /** Must be set when there is no default. */
  required?: true;
}

/**
 * A declared setting. Its type keeps, as literal types, whether it is required and whether it has
 * a default, so `Config` can say which settings may be `undefined`.
 */
export type DeclaredSetting<T, O> = SettingDefinition<T> & {
  required: O extends { required: true } ? true : false;
  default: O extends { default: unknown } | { derived: unknown } ? SettingDefault<T> : undefined;
};

/** `min`/`max` of a numeric setting (inclusive). */
interface Range {
  min?: number;
  max?: number;
}

function define<T, O extends SettingOptions<T>>(
  type: SettingType,
  description: string,
  parse: SettingParser<T>,
  options: O | undefined,
): DeclaredSetting<T, O> {
  const fallback: SettingDefault<T> | undefined = options?.derived
    ? { kind: 'derived', ...options.derived }
    : options && 'default' in options
      ? { kind: 'value', value: options.default as T }
      : undefined;
  return {
    type,
    description,
    secret: options?.secret ?? false,
    required: options?.required ?? false,
    parse,
    ...(fallback ? { default: fallback } : {}),
  } as DeclaredSetting<T, O>;
}

/**
 * One builder per setting type: the type shown in the README and the parser that enforces it are
 * chosen together, so a setting cannot be documented as one type and parsed as another.
 */
export const setting = {
  /** A non-empty string, optionally matching `pattern` (`expected` says what it must look like). */
  string<const O extends SettingOptions<string> & { pattern?: RegExp; expected?: string }>(
    description: string,
    options?: O,
  ) {
    const { pattern, expected } = options ?? {};
    return define('string', description, parseString({ pattern, expected }), options);
  },
  /** An absolute URL with one of `schemes` (default http and https; see `parseUrl`). */
  url<const O extends SettingOptions<string> & { schemes?: readonly string[] }>(
    description: string,
    options?: O,
  ) {
    return define('url', description, parseUrl(options?.schemes ?? ['http:', 'https:']), options);
  },
  /** A whole number within `[min, max]`. */
  integer<const O extends SettingOptions<number> & Range>(description: string, options?: O) {
    return define('integer', description, parseInteger({ min: options?.min, max: options?.max }), options);
  },
  /** A finite number (fractions allowed) within `[min, max]`. */
  number<const O extends SettingOptions<number> & Range>(description: string, options?: O) {
    return define('number', description, parseNumber({ min: options?.min, max: options?.max }), options);
  },
  /** A duration in milliseconds within `[min, max]` (a unit suffix is accepted). */
  durationMs<const O extends SettingOptions<number> & Range>(description: string, options?: O) {
    return define(
      'duration-ms',
      description,
      parseDurationMs({ min: options?.min, max: options?.max }),
      options,
    );
  },
  /** `true` or `false`. */
  boolean<const O extends SettingOptions<boolean>>(description: string, options?: O) {
    return define('boolean', description, parseBoolean(), options);
  },
  /** One of `values`. */
  enum<T extends string, const O extends SettingOptions<NoInfer<T>>>(
    values: readonly T[],
    description: string,
    options?: O,
  ) {
    return define('enum', description, parseEnum(values), options);
  },
  /** A comma-separated list whose items `item` parses. */
  list<T extends string, const O extends SettingOptions<readonly NoInfer<T>[]>>(
    item: { parse: SettingParser<T>; expected: string },
    description: string,
    options?: O,
  ) {
    return define('list', description, parseList(item), options);
  },
  /** A JSON object of string keys to non-empty string values. */
  stringMap<const O extends SettingOptions<Readonly<Record<string, string>>>>(
    description: string,
    options?: O,
  ) {
    return define('string-map', description, parseStringMap(), options);
  },
};
