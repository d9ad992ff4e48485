import { readFileSync } from 'node:fs';
import type { ConfigIssue } from './config-error.js';
import type { Config, ConfigSchema } from './config-schema.js';
import type { RawSettingValue } from './setting-parsers.js';

/** A raw, not yet parsed value and where it came from. */
export interface RawSetting {
  value: RawSettingValue;
  /** `environment`, `file <path>`, or `<KEY>_FILE <path>`. */
  source: string;
}

/** Raw values per key after layering file, then environment; plus problems met while reading. */
export interface ConfigSources {
  values: Map<keyof Config, RawSetting>;
  issues: ConfigIssue[];
}

/** Suffix of the variable naming a file that holds a secret setting (Docker/Kubernetes secrets). */
export const SECRET_FILE_SUFFIX = '_FILE';

/** Keys a config file may carry that are not settings (editor schema hints). */
const FILE_META_KEYS = new Set(['$schema']);

type Layer = Map<keyof Config, RawSetting>;

function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string')
    return error.code;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads a secret from a file, dropping trailing line breaks that `echo` and editors add. Only the
 * file path is ever reported, never its content.
 */
function readSecretFile(fileKey: string, path: unknown, issues: ConfigIssue[]): string | undefined {
  if (typeof path !== 'string' || path.trim() === '') {
    issues.push({ key: fileKey, expected: 'a file path', found: JSON.stringify(path) ?? 'nothing' });
    return undefined;
  }
  let content: string;
  try {
    content = readFileSync(path, 'utf8').replace(/[\r\n]+$/, '');
  } catch (error) {
    issues.push({ key: fileKey, expected: 'a readable file', found: `${errorCode(error)} reading ${path}` });
    return undefined;
  }
  if (content === '') {
    issues.push({ key: fileKey, expected: 'a file with a non-empty secret', found: `an empty file ${path}` });
    return undefined;
  }
  return content;
}

/** Secret keys whose `<KEY>_FILE` variant is honoured. */
function secretKeys(schema: ConfigSchema): Array<keyof Config> {
  return (Object.keys(schema) as Array<keyof Config>).filter((key) => schema[key].secret);
}

/**
 * Puts `KEY` and `KEY_FILE` from one source (environment or config file) into a layer; both at once
 * is ambiguous and reported rather than silently preferring one.
 */
function addSecretFiles(
  schema: ConfigSchema,
  lookup: (name: string) => unknown,
  sourceName: string,
  layer: Layer,
  issues: ConfigIssue[],
): void {
  for (const key of secretKeys(schema)) {
    const fileKey = `${key}${SECRET_FILE_SUFFIX}`;
    const path = lookup(fileKey);
    if (path === undefined || path === null || path === '') continue;
    if (layer.has(key)) {
      issues.push({
        key: fileKey,
        expected: `either ${key} or ${fileKey}, not both`,
        found: 'both set',
        source: sourceName,
      });
      continue;
    }
    const secret = readSecretFile(fileKey, path, issues);
    if (secret !== undefined) layer.set(key, { value: secret, source: `${fileKey} ${String(path)}` });
  }
}

function suggestKey(schema: ConfigSchema, unknownKey: string): string {
  const match = Object.keys(schema).find((key) => key.toLowerCase() === unknownKey.toLowerCase());
  return match ? ` (did you mean ${match}?)` : '';
}

function readFileLayer(schema: ConfigSchema, path: string, issues: ConfigIssue[]): Layer {
  const layer: Layer = new Map();
  const source = `file ${path}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (error) {
    const found =
      error instanceof SyntaxError
        ? `invalid JSON (${error.message})`
        : `${errorCode(error)} reading ${path}`;
    issues.push({ key: 'FHIR_FUSION_CONFIG_FILE', expected: 'a readable JSON file', found });
    return layer;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    issues.push({
      key: 'FHIR_FUSION_CONFIG_FILE',
      expected: 'a JSON object of settings',
      found: `JSON ${Array.isArray(parsed) ? 'array' : typeof parsed}`,
      source,
    });
    return layer;
  }
  const entries = parsed as Record<string, unknown>;
  const fileKeys = new Set(secretKeys(schema).map((key) => `${key}${SECRET_FILE_SUFFIX}`));
  for (const [name, value] of Object.entries(entries)) {
    if (FILE_META_KEYS.has(name) || fileKeys.has(name)) continue;
    if (!Object.hasOwn(schema, name)) {
      issues.push({
        key: name,
        expected: `a known setting${suggestKey(schema, name)}`,
        found: 'an unknown key',
        source,
      });
      continue;
    }
    // JSON null means "not set here", so a file can document a key without setting it.
    if (value === null) continue;
    layer.set(name as keyof Config, { value: value as RawSettingValue, source });
  }
  addSecretFiles(schema, (name) => entries[name], source, layer, issues);
  return layer;
}

function readEnvironmentLayer(schema: ConfigSchema, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): Layer {
  const layer: Layer = new Map();
  for (const key of Object.keys(schema) as Array<keyof Config>) {
    const value = env[key];
    // An empty variable counts as unset: compose files and shells often pass `KEY=` for "default".
    if (value !== undefined && value !== '') layer.set(key, { value, source: 'environment' });
  }
  addSecretFiles(schema, (name) => env[name], 'environment', layer, issues);
  return layer;
}

/**
 * Reads raw settings: the JSON file (`filePath`, else `FHIR_FUSION_CONFIG_FILE`) first, then the
 * environment on top, so environment variables win. Secret keys may come from `<KEY>_FILE` in either.
 */
export function readConfigSources(
  schema: ConfigSchema,
  env: NodeJS.ProcessEnv,
  filePath?: string,
): ConfigSources {
  const issues: ConfigIssue[] = [];
  const path = filePath ?? (env.FHIR_FUSION_CONFIG_FILE || undefined);
  const fileLayer = path ? readFileLayer(schema, path, issues) : new Map<keyof Config, RawSetting>();
  const envLayer = readEnvironmentLayer(schema, env, issues);
  return { values: new Map([...fileLayer, ...envLayer]), issues };
}
