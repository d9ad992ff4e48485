import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import { CONFIG_KEYS, DEFAULT_SMART_SCOPES } from '../../../src/config/config-schema.js';
import { loadConfig } from '../../../src/config/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'ff-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function writeTemp(content: string): string {
  const path = join(dir, `file-${fileCounter++}`);
  writeFileSync(path, content);
  return path;
}

const MINIMAL = { FHIR_BASE_URL: 'https://ehr.example.org/fhir/R4' };

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('fills every documented default from a minimal environment', () => {
    const config = loadConfig(MINIMAL);
    expect(config).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 8080,
      PUBLIC_URL: 'http://127.0.0.1:8080',
      LOG_LEVEL: 'info',
      DATABASE_URL: undefined,
      DATA_DIR: '.data',
      EMBEDDED_POSTGRES_PORT: 54320,
      FHIR_AUTH: 'none',
      SMART_SCOPES: DEFAULT_SMART_SCOPES,
      WRITEBACK_FHIR_BASE_URL: MINIMAL.FHIR_BASE_URL,
      DICOMWEB_ALLOWED_HOSTS: [],
      MODELS_DIR: 'models',
      ACTIVE_MODELS: [],
      EXECUTION_PROVIDERS: ['cpu'],
      INFERENCE_THREADS: Math.min(2, availableParallelism()),
      BATCH_MAX_SIZE: 32,
      BATCH_MAX_DELAY_MS: 5,
      INFERENCE_QUEUE_LIMIT: 1024,
      INTAKE_MAX_BODY_BYTES: 1_048_576,
      SUBSCRIPTION_SECRETS: {},
      COALESCE_WINDOW_MS: 2000,
      JOB_RETRY_LIMIT: 8,
      JOB_RETRY_DELAY_S: 2,
      JOB_CONCURRENCY: 4,
      OUTBOUND_TIMEOUT_MS: 10_000,
      METRICS_ENABLED: true,
      TRACING_ENABLED: false,
    });
    expect(Object.keys(config).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ ...MINIMAL, EXECUTION_PROVIDERS: 'cuda,cpu' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.EXECUTION_PROVIDERS)).toBe(true);
    expect(() => (config.EXECUTION_PROVIDERS as string[]).push('tensorrt')).toThrow(TypeError);
  });

  it('derives PUBLIC_URL from HOST and PORT, using localhost for wildcard binds', () => {
    expect(loadConfig({ ...MINIMAL, HOST: '10.1.2.3', PORT: '9000' }).PUBLIC_URL).toBe(
      'http://10.1.2.3:9000',
    );
    expect(loadConfig({ ...MINIMAL, HOST: '0.0.0.0' }).PUBLIC_URL).toBe('http://localhost:8080');
    expect(loadConfig({ ...MINIMAL, HOST: '::1' }).PUBLIC_URL).toBe('http://[::1]:8080');
    expect(loadConfig({ ...MINIMAL, PUBLIC_URL: 'https://fusion.example.org' }).PUBLIC_URL).toBe(
      'https://fusion.example.org',
    );
  });

  it('parses typed values: lists, durations, booleans, maps', () => {
    const config = loadConfig({
      ...MINIMAL,
      DICOMWEB_ALLOWED_HOSTS: 'PACS.example.org, orthanc:8042,,[::1]:8042',
      ACTIVE_MODELS: 'fusion-risk@1.0.0,ecg-retrieval@2',
      COALESCE_WINDOW_MS: '3s',
      OUTBOUND_TIMEOUT_MS: '250ms',
      BATCH_MAX_DELAY_MS: '7',
      METRICS_ENABLED: 'no',
      TRACING_ENABLED: 'TRUE',
      SUBSCRIPTION_SECRETS: '{"sub-1":"s3cret"}',
      DATABASE_URL: 'postgres://u:p@db:5432/fhir_fusion',
    });
    expect(config.DICOMWEB_ALLOWED_HOSTS).toEqual(['pacs.example.org', 'orthanc:8042', '[::1]:8042']);
    expect(config.ACTIVE_MODELS).toEqual(['fusion-risk@1.0.0', 'ecg-retrieval@2']);
    expect(config.COALESCE_WINDOW_MS).toBe(3000);
    expect(config.OUTBOUND_TIMEOUT_MS).toBe(250);
    expect(config.BATCH_MAX_DELAY_MS).toBe(7);
    expect(config.METRICS_ENABLED).toBe(false);
    expect(config.TRACING_ENABLED).toBe(true);
    expect(config.SUBSCRIPTION_SECRETS).toEqual({ 'sub-1': 's3cret' });
    expect(config.DATABASE_URL).toBe('postgres://u:p@db:5432/fhir_fusion');
  });

  it('normalises HTTP base URLs without a trailing slash and refuses queries and fragments', () => {
    const config = loadConfig({
      FHIR_BASE_URL: 'https://ehr.example.org/fhir/R4/',
      PUBLIC_URL: 'http://fusion:8080/',
    });
    expect(config.FHIR_BASE_URL).toBe('https://ehr.example.org/fhir/R4');
    expect(config.WRITEBACK_FHIR_BASE_URL).toBe('https://ehr.example.org/fhir/R4');
    expect(config.PUBLIC_URL).toBe('http://fusion:8080');
    const error = configError(() =>
      loadConfig({
        FHIR_BASE_URL: 'https://ehr.example.org/fhir?_format=json',
        DICOMWEB_BASE_URL: 'http://pacs/#x',
      }),
    );
    expect(error.issues.map((issue) => issue.key)).toEqual(['FHIR_BASE_URL', 'DICOMWEB_BASE_URL']);
    expect(error.message).toContain(
      'FHIR_BASE_URL: expected an absolute URL with scheme http or https, a host, and no query or fragment',
    );
  });

  it('treats an empty environment variable as unset', () => {
    expect(loadConfig({ ...MINIMAL, PORT: '', LOG_LEVEL: '' })).toMatchObject({
      PORT: 8080,
      LOG_LEVEL: 'info',
    });
  });
});

describe('loadConfig errors', () => {
  it('names the missing required FHIR_BASE_URL', () => {
    const error = configError(() => loadConfig({}));
    expect(error.issues.map((issue) => issue.key)).toEqual(['FHIR_BASE_URL']);
    expect(error.message).toMatch(
      /FHIR_BASE_URL: expected an absolute URL with scheme http or https, .* \(required\); found nothing/,
    );
  });

  it('lists every bad key at once, each with what was expected and what was found', () => {
    const bad: Record<string, string> = {
      PORT: 'eighty',
      PUBLIC_URL: 'not a url',
      LOG_LEVEL: 'verbose',
      DATABASE_URL: 'mysql://h/db',
      EMBEDDED_POSTGRES_PORT: '70000',
      FHIR_BASE_URL: 'ftp://ehr',
      FHIR_AUTH: 'basic',
      SMART_SCOPES: ' system/Patient.rs',
      WRITEBACK_FHIR_BASE_URL: 'ehr/fhir',
      DICOMWEB_BASE_URL: '//pacs',
      DICOMWEB_ALLOWED_HOSTS: 'http://pacs/',
      ACTIVE_MODELS: 'fusion-risk',
      EXECUTION_PROVIDERS: 'cpu,rocm',
      INFERENCE_THREADS: '0',
      BATCH_MAX_SIZE: '1.5',
      BATCH_MAX_DELAY_MS: 'soon',
      INFERENCE_QUEUE_LIMIT: '-1',
      INTAKE_MAX_BODY_BYTES: '1e3x',
      SUBSCRIPTION_SECRETS: '{"a":1}',
      COALESCE_WINDOW_MS: '2 weeks',
      JOB_RETRY_LIMIT: 'many',
      JOB_RETRY_DELAY_S: '2.5',
      JOB_CONCURRENCY: '0',
      OUTBOUND_TIMEOUT_MS: '0',
      METRICS_ENABLED: 'maybe',
      TRACING_ENABLED: '2',
    };
    const error = configError(() => loadConfig(bad));
    expect(error.issues.map((issue) => issue.key).sort()).toEqual(Object.keys(bad).sort());
    for (const key of Object.keys(bad)) expect(error.message).toContain(`  - ${key}: expected `);
    expect(error.message).toContain(
      'PORT: expected an integer from 0 to 65535; found "eighty" (from environment)',
    );
    expect(error.message).toContain(
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace; found "verbose"',
    );
    expect(error.message).toContain(
      'EXECUTION_PROVIDERS: expected a comma-separated list of cpu or cuda or tensorrt; found "cpu,rocm"',
    );
  });

  it('never echoes secret values', () => {
    const error = configError(() =>
      loadConfig({
        ...MINIMAL,
        DATABASE_URL: 'mysql://admin:hunter2@db/x',
        SUBSCRIPTION_SECRETS: '{"sub":"topsecret-value", "x": 3}',
      }),
    );
    expect(error.issues.map((issue) => issue.key).sort()).toEqual(['DATABASE_URL', 'SUBSCRIPTION_SECRETS']);
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('topsecret-value');
    expect(error.message).toContain('secret, not shown');
  });

  it('requires FHIR_BEARER_TOKEN when FHIR_AUTH=bearer, naming both keys', () => {
    const error = configError(() => loadConfig({ ...MINIMAL, FHIR_AUTH: 'bearer' }));
    expect(error.issues).toHaveLength(1);
    expect(error.message).toContain(
      'FHIR_BEARER_TOKEN: expected a token (or FHIR_BEARER_TOKEN_FILE) when FHIR_AUTH=bearer; found not set',
    );
    expect(loadConfig({ ...MINIMAL, FHIR_AUTH: 'bearer', FHIR_BEARER_TOKEN: 'abc' }).FHIR_BEARER_TOKEN).toBe(
      'abc',
    );
  });

  it('requires KSERVE_BASE_URL when INFERENCE_BACKEND=kserve-v2, and rejects an unknown backend', () => {
    const error = configError(() => loadConfig({ ...MINIMAL, INFERENCE_BACKEND: 'kserve-v2' }));
    expect(error.message).toContain('KSERVE_BASE_URL: expected a URL when INFERENCE_BACKEND=kserve-v2; found not set');
    expect(configError(() => loadConfig({ ...MINIMAL, INFERENCE_BACKEND: 'grpc' })).issues.map((i) => i.key)).toEqual(['INFERENCE_BACKEND']);
    const config = loadConfig({ ...MINIMAL, INFERENCE_BACKEND: 'kserve-v2', KSERVE_BASE_URL: 'http://triton:8000' });
    expect([config.INFERENCE_BACKEND, config.KSERVE_BASE_URL]).toEqual(['kserve-v2', 'http://triton:8000']);
    expect(loadConfig(MINIMAL).INFERENCE_BACKEND).toBe('local');
  });

  it('requires a client id and a readable key file for SMART backend services', () => {
    const error = configError(() =>
      loadConfig({
        ...MINIMAL,
        FHIR_AUTH: 'smart-backend-services',
        SMART_PRIVATE_KEY_FILE: join(dir, 'missing.pem'),
      }),
    );
    expect(error.issues.map((issue) => issue.key)).toEqual(['SMART_CLIENT_ID', 'SMART_PRIVATE_KEY_FILE']);
    expect(error.message).toContain(
      'SMART_CLIENT_ID: expected a client_id when FHIR_AUTH=smart-backend-services',
    );
    expect(error.message).toContain(`no readable file at ${join(dir, 'missing.pem')}`);
    const keyFile = writeTemp('-----BEGIN PRIVATE KEY-----\n');
    const config = loadConfig({
      ...MINIMAL,
      FHIR_AUTH: 'smart-backend-services',
      SMART_CLIENT_ID: 'fusion',
      SMART_PRIVATE_KEY_FILE: keyFile,
    });
    expect(config.SMART_PRIVATE_KEY_FILE).toBe(keyFile);
  });

  it('rejects the embedded Postgres port clashing with PORT only when Postgres is embedded', () => {
    const error = configError(() => loadConfig({ ...MINIMAL, PORT: '54320' }));
    expect(error.message).toContain(
      'EMBEDDED_POSTGRES_PORT: expected a port different from PORT when DATABASE_URL is unset; found 54320',
    );
    expect(loadConfig({ ...MINIMAL, PORT: '54320', DATABASE_URL: 'postgres://db/x' }).PORT).toBe(54320);
  });

  it('rejects an empty execution provider list', () => {
    const error = configError(() => loadConfig({ ...MINIMAL, EXECUTION_PROVIDERS: ' , ' }));
    expect(error.issues.map((issue) => issue.key)).toEqual(['EXECUTION_PROVIDERS']);
  });
});

describe('config file', () => {
  it('reads settings from FHIR_FUSION_CONFIG_FILE with JSON types, and the environment wins', () => {
    const file = writeTemp(
      JSON.stringify({
        $schema: './config.schema.json',
        FHIR_BASE_URL: 'https://file.example.org/fhir',
        PORT: 9090,
        LOG_LEVEL: 'debug',
        METRICS_ENABLED: false,
        EXECUTION_PROVIDERS: ['cuda', 'cpu'],
        SUBSCRIPTION_SECRETS: { 'sub-9': 'from-file' },
        DATABASE_URL: null,
      }),
    );
    const config = loadConfig({ FHIR_FUSION_CONFIG_FILE: file, LOG_LEVEL: 'warn' });
    expect(config).toMatchObject({
      FHIR_BASE_URL: 'https://file.example.org/fhir',
      WRITEBACK_FHIR_BASE_URL: 'https://file.example.org/fhir',
      PORT: 9090,
      PUBLIC_URL: 'http://127.0.0.1:9090',
      LOG_LEVEL: 'warn',
      METRICS_ENABLED: false,
      EXECUTION_PROVIDERS: ['cuda', 'cpu'],
      SUBSCRIPTION_SECRETS: { 'sub-9': 'from-file' },
      DATABASE_URL: undefined,
    });
  });

  it('prefers options.file over FHIR_FUSION_CONFIG_FILE', () => {
    const named = writeTemp(JSON.stringify({ FHIR_BASE_URL: 'https://named.example.org/fhir' }));
    const given = writeTemp(JSON.stringify({ FHIR_BASE_URL: 'https://given.example.org/fhir' }));
    expect(loadConfig({ FHIR_FUSION_CONFIG_FILE: named }, { file: given }).FHIR_BASE_URL).toBe(
      'https://given.example.org/fhir',
    );
  });

  it('names unknown keys, wrong JSON types, and the file as the source', () => {
    const file = writeTemp(
      JSON.stringify({ ...MINIMAL, port: 1, BATCH_MAX_SIZE: '32x', TRACING_ENABLED: 'sometimes', EXTRA: 1 }),
    );
    const error = configError(() => loadConfig({}, { file }));
    expect(error.issues.map((issue) => issue.key).sort()).toEqual([
      'BATCH_MAX_SIZE',
      'EXTRA',
      'TRACING_ENABLED',
      'port',
    ]);
    expect(error.message).toContain(
      'port: expected a known setting (did you mean PORT?); found an unknown key',
    );
    expect(error.message).toContain(
      `BATCH_MAX_SIZE: expected an integer from 1 to 4096; found "32x" (from file ${file})`,
    );
  });

  it('reports an unreadable or malformed file under FHIR_FUSION_CONFIG_FILE', () => {
    const broken = writeTemp('{ "PORT": ');
    expect(configError(() => loadConfig(MINIMAL, { file: broken })).message).toMatch(
      /FHIR_FUSION_CONFIG_FILE: expected a readable JSON file; found invalid JSON/,
    );
    expect(configError(() => loadConfig(MINIMAL, { file: join(dir, 'nope.json') })).message).toContain(
      'FHIR_FUSION_CONFIG_FILE: expected a readable JSON file; found ENOENT',
    );
    expect(configError(() => loadConfig(MINIMAL, { file: writeTemp('[1]') })).message).toContain(
      'FHIR_FUSION_CONFIG_FILE: expected a JSON object of settings; found JSON array',
    );
  });
});

describe('<KEY>_FILE secrets', () => {
  it('reads a secret from the file named by <KEY>_FILE, dropping the trailing newline', () => {
    const tokenFile = writeTemp('tok-from-file\n');
    const secretsFile = writeTemp('{"sub-1":"abc"}\n');
    const urlFile = writeTemp('postgres://app:pw@db:5432/fhir_fusion\n');
    const config = loadConfig({
      ...MINIMAL,
      FHIR_AUTH: 'bearer',
      FHIR_BEARER_TOKEN_FILE: tokenFile,
      SUBSCRIPTION_SECRETS_FILE: secretsFile,
      DATABASE_URL_FILE: urlFile,
    });
    expect(config.FHIR_BEARER_TOKEN).toBe('tok-from-file');
    expect(config.SUBSCRIPTION_SECRETS).toEqual({ 'sub-1': 'abc' });
    expect(config.DATABASE_URL).toBe('postgres://app:pw@db:5432/fhir_fusion');
  });

  it('accepts <KEY>_FILE in the config file, and the environment still wins', () => {
    const fromFile = writeTemp('token-a');
    const fromEnv = writeTemp('token-b');
    const file = writeTemp(
      JSON.stringify({ ...MINIMAL, FHIR_AUTH: 'bearer', FHIR_BEARER_TOKEN_FILE: fromFile }),
    );
    expect(loadConfig({}, { file }).FHIR_BEARER_TOKEN).toBe('token-a');
    expect(loadConfig({ FHIR_BEARER_TOKEN_FILE: fromEnv }, { file }).FHIR_BEARER_TOKEN).toBe('token-b');
    expect(loadConfig({ FHIR_BEARER_TOKEN: 'token-c' }, { file }).FHIR_BEARER_TOKEN).toBe('token-c');
  });

  it('names the _FILE key when the file is missing or empty, or when both forms are set', () => {
    const missing = configError(() =>
      loadConfig({ ...MINIMAL, FHIR_BEARER_TOKEN_FILE: join(dir, 'no-token') }),
    );
    expect(missing.message).toContain(
      `FHIR_BEARER_TOKEN_FILE: expected a readable file; found ENOENT reading ${join(dir, 'no-token')}`,
    );
    const empty = configError(() => loadConfig({ ...MINIMAL, FHIR_BEARER_TOKEN_FILE: writeTemp('\n') }));
    expect(empty.issues.map((issue) => issue.key)).toEqual(['FHIR_BEARER_TOKEN_FILE']);
    const both = configError(() =>
      loadConfig({ ...MINIMAL, FHIR_BEARER_TOKEN: 'x', FHIR_BEARER_TOKEN_FILE: writeTemp('y') }),
    );
    expect(both.message).toContain(
      'FHIR_BEARER_TOKEN_FILE: expected either FHIR_BEARER_TOKEN or FHIR_BEARER_TOKEN_FILE, not both',
    );
  });

  it('does not echo a secret read from a file that fails to parse', () => {
    const file = writeTemp('not-json-but-very-secret');
    const error = configError(() => loadConfig({ ...MINIMAL, SUBSCRIPTION_SECRETS_FILE: file }));
    expect(error.issues[0]).toMatchObject({
      key: 'SUBSCRIPTION_SECRETS',
      source: `SUBSCRIPTION_SECRETS_FILE ${file}`,
    });
    expect(error.message).not.toContain('very-secret');
  });

  it('ignores _FILE for settings that are not secret', () => {
    expect(
      loadConfig({ ...MINIMAL, SMART_CLIENT_ID_FILE: join(dir, 'nothing') }).SMART_CLIENT_ID,
    ).toBeUndefined();
  });
});
