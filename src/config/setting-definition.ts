import type { SettingParser } from './setting-parsers.js';

/** The kinds of value a setting may hold; shown in the README's configuration table. */
export type SettingType =
  'string' | 'url' | 'integer' | 'number' | 'boolean' | 'enum' | 'list' | 'duration-ms' | 'string-map';

/**
 * The settings parsed so far, as a derived default sees them. Untyped on purpose: `Config` is
 * derived from the settings table, so a default inside that table cannot name `Config` (the type
 * would refer to itself); a derivation checks the types of the values it reads.
 */
export type ResolvedSettings = { readonly [key: string]: unknown };

/**
 * A default: a fixed value, or one derived from other settings once they are parsed (e.g.
 * `PUBLIC_URL` from `HOST` and `PORT`). `text` is how the derived default is documented.
 */
export type SettingDefault<T> =
  | { kind: 'value'; value: T }
  | { kind: 'derived'; text: string; derive: (resolved: ResolvedSettings) => T | undefined };

/** The declaration of one setting: how it is parsed, documented, defaulted and protected. */
export interface SettingDefinition<T> {
  /** The value type, as documented. */
  type: SettingType;
  /** One sentence for operators; rendered into the README table. */
  description: string;
  /** Secret values are never echoed in errors or logs and may be read from `<KEY>_FILE`. */
  secret: boolean;
  /** Must be set (by environment, file or `_FILE`) when there is no default. */
  required: boolean;
  /** Parses a raw value; failures say what was expected. */
  parse: SettingParser<T>;
  /** Absent: the setting is optional and `undefined` when unset. */
  default?: SettingDefault<T>;
}
