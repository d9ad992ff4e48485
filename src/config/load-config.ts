import { ConfigError, type ConfigIssue } from './config-error.js';
import { CONFIG_KEYS, CONFIG_SCHEMA, type Config } from './config-schema.js';
import { CROSS_FIELD_RULES } from './cross-field-rules.js';
import { readConfigSources, type RawSetting } from './read-config-sources.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** JSON config file; overrides `FHIR_FUSION_CONFIG_FILE`. Environment variables still win over it. */
  file?: string;
}

const FOUND_LIMIT = 80;

/** Shows a rejected raw value, shortened; secrets are never shown. */
function describeFound(raw: RawSetting, secret: boolean): string {
  if (secret) return 'a value that does not fit (secret, not shown)';
  const text =
    typeof raw.value === 'string' ? JSON.stringify(raw.value) : `JSON ${JSON.stringify(raw.value)}`;
  return text.length > FOUND_LIMIT ? `${text.slice(0, FOUND_LIMIT - 1)}…` : text;
}

/** Every parser rejects `null`, and its rejection names what it expects. */
function expectedText(key: keyof Config): string {
  const result = CONFIG_SCHEMA[key].parse(null);
  return result.ok ? 'a value' : result.expected;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Parses and validates every setting once, from the JSON config file (`options.file` or
 * `FHIR_FUSION_CONFIG_FILE`) overlaid by `env`, with `<KEY>_FILE` for secrets. Throws a
 * {@link ConfigError} listing every bad, missing or conflicting key; returns a deeply frozen
 * {@link Config} otherwise.
 */
export function loadConfig(env: NodeJS.ProcessEnv, options: LoadConfigOptions = {}): Config {
  const sources = readConfigSources(CONFIG_SCHEMA, env, options.file);
  const issues: ConfigIssue[] = [...sources.issues];
  const resolved: Record<string, unknown> = {};
  const failed = new Set<keyof Config>();

  for (const key of CONFIG_KEYS) {
    const definition = CONFIG_SCHEMA[key];
    const raw = sources.values.get(key);
    if (raw) {
      const parsed = definition.parse(raw.value);
      if (parsed.ok) resolved[key] = parsed.value;
      else {
        failed.add(key);
        issues.push({
          key,
          expected: parsed.expected,
          found: describeFound(raw, definition.secret),
          source: raw.source,
        });
      }
    } else if (definition.default?.kind === 'value') {
      resolved[key] = definition.default.value;
    } else if (definition.required) {
      failed.add(key);
      issues.push({
        key,
        expected: `${expectedText(key)} (required)`,
        found: 'nothing: set it in the environment or the config file',
      });
    }
  }

  // Derived defaults read other settings, so they are filled in after every explicit value parsed.
  for (const key of CONFIG_KEYS) {
    const definition = CONFIG_SCHEMA[key];
    if (key in resolved || failed.has(key) || definition.default?.kind !== 'derived') continue;
    const value = definition.default.derive(resolved);
    if (value !== undefined) resolved[key] = value;
  }

  for (const rule of CROSS_FIELD_RULES) issues.push(...rule(resolved as Partial<Config>));
  if (issues.length > 0) throw new ConfigError(issues);

  const config = Object.fromEntries(CONFIG_KEYS.map((key) => [key, resolved[key]])) as unknown as Config;
  return deepFreeze(config);
}
