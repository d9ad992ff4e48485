import { accessSync, constants } from 'node:fs';
import type { ConfigIssue } from './config-error.js';
import type { Config } from './config-schema.js';

/**
 * A rule across settings. It sees only settings that parsed, so a bad value is reported once (by
 * its own parser) and not again by every rule that reads it.
 */
export type CrossFieldRule = (config: Partial<Config>) => ConfigIssue[];

const NOT_SET = 'not set';

/** `FHIR_AUTH=bearer` needs a token. */
const bearerNeedsToken: CrossFieldRule = (config) =>
  config.FHIR_AUTH === 'bearer' && config.FHIR_BEARER_TOKEN === undefined
    ? [
        {
          key: 'FHIR_BEARER_TOKEN',
          expected: 'a token (or FHIR_BEARER_TOKEN_FILE) when FHIR_AUTH=bearer',
          found: NOT_SET,
        },
      ]
    : [];

/**
 * SMART Backend Services (SMART App Launch 2.x §"Backend Services") authenticates with a signed JWT
 * client assertion, so it needs a registered client_id and the private key it signs with.
 */
const smartNeedsClient: CrossFieldRule = (config) => {
  if (config.FHIR_AUTH !== 'smart-backend-services') return [];
  const issues: ConfigIssue[] = [];
  if (config.SMART_CLIENT_ID === undefined) {
    issues.push({
      key: 'SMART_CLIENT_ID',
      expected: 'a client_id when FHIR_AUTH=smart-backend-services',
      found: NOT_SET,
    });
  }
  const keyFile = config.SMART_PRIVATE_KEY_FILE;
  if (keyFile === undefined) {
    issues.push({
      key: 'SMART_PRIVATE_KEY_FILE',
      expected: 'a private key file when FHIR_AUTH=smart-backend-services',
      found: NOT_SET,
    });
  } else {
    try {
      accessSync(keyFile, constants.R_OK);
    } catch {
      issues.push({
        key: 'SMART_PRIVATE_KEY_FILE',
        expected: 'a readable private key file',
        found: `no readable file at ${keyFile}`,
      });
    }
  }
  return issues;
};

/** The embedded Postgres and the HTTP server cannot share a port. */
const embeddedPortDiffers: CrossFieldRule = (config) =>
  config.DATABASE_URL === undefined &&
  config.EMBEDDED_POSTGRES_PORT !== undefined &&
  config.EMBEDDED_POSTGRES_PORT === config.PORT
    ? [
        {
          key: 'EMBEDDED_POSTGRES_PORT',
          expected: 'a port different from PORT when DATABASE_URL is unset',
          found: String(config.PORT),
        },
      ]
    : [];

/** Inference needs somewhere to run. */
const someExecutionProvider: CrossFieldRule = (config) =>
  config.EXECUTION_PROVIDERS !== undefined && config.EXECUTION_PROVIDERS.length === 0
    ? [
        {
          key: 'EXECUTION_PROVIDERS',
          expected: 'at least one of cpu, cuda, tensorrt',
          found: 'an empty list',
        },
      ]
    : [];

/** A remote inference backend needs its address. */
const kserveNeedsUrl: CrossFieldRule = (config) =>
  config.INFERENCE_BACKEND === 'kserve-v2' && config.KSERVE_BASE_URL === undefined
    ? [{ key: 'KSERVE_BASE_URL', expected: 'a URL when INFERENCE_BACKEND=kserve-v2', found: NOT_SET }]
    : [];

/** Every cross-field rule, applied after each setting parsed on its own. */
export const CROSS_FIELD_RULES: readonly CrossFieldRule[] = [
  bearerNeedsToken,
  smartNeedsClient,
  embeddedPortDiffers,
  someExecutionProvider,
  kserveNeedsUrl,
];
