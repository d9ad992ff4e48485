import { CONFIG_KEYS, CONFIG_SCHEMA, type Config } from './config-schema.js';

/**
 * The configuration with every secret setting replaced by `'[set]'` (or left `undefined` when
 * unset), so the effective configuration can be logged at start-up or shown by the CLI.
 */
export function redactConfig(config: Config): Record<keyof Config, unknown> {
  const entries = CONFIG_KEYS.map((key) => {
    const value: unknown = config[key];
    return [key, CONFIG_SCHEMA[key].secret && value !== undefined ? '[set]' : value] as const;
  });
  return Object.fromEntries(entries) as Record<keyof Config, unknown>;
}
