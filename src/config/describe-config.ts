import { CONFIG_KEYS, CONFIG_SCHEMA, type Config } from './config-schema.js';
import type { SettingType } from './setting-definition.js';

/** One row of the configuration reference. */
export interface SettingDescription {
  key: keyof Config;
  type: SettingType;
  /** The default as documented (`undefined` when the setting has none). */
  default: string | undefined;
  description: string;
  required: boolean;
  secret: boolean;
}

function formatDefault(key: keyof Config): string | undefined {
  const fallback = CONFIG_SCHEMA[key].default;
  if (!fallback) return undefined;
  if (fallback.kind === 'derived') return fallback.text;
  const value: unknown = fallback.value;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** Every setting with its type, documented default and description, in schema order. */
export function describeConfig(): SettingDescription[] {
  return CONFIG_KEYS.map((key) => {
    const definition = CONFIG_SCHEMA[key];
    return {
      key,
      type: definition.type,
      default: formatDefault(key),
      description: definition.description,
      required: definition.required,
      secret: definition.secret,
    };
  });
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/**
 * The configuration reference as a Markdown table for the README. Secret settings note that
 * `<KEY>_FILE` may name a file holding the value.
 */
export function renderConfigTable(): string {
  const rows = describeConfig().map((setting) => {
    const fallback =
      setting.default === undefined
        ? setting.required
          ? '**required**'
          : '—'
        : `\`${cell(setting.default)}\``;
    const secret = setting.secret ? ` Secret: may be given as a file path in \`${setting.key}_FILE\`.` : '';
    return `| \`${setting.key}\` | ${setting.type} | ${fallback} | ${cell(setting.description)}${secret} |`;
  });
  return (
    ['| Variable | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n'
  );
}
