import type { Config } from '../../src/config/config-schema.js';
import { loadConfig } from '../../src/config/load-config.js';

/** A validated Config for tests: loopback, a free port, quiet logs, fast coalescing and retries. */
export function testConfig(overrides: Record<string, string>): Config {
  return loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'error',
    COALESCE_WINDOW_MS: '0',
    JOB_RETRY_DELAY_S: '1',
    JOB_RETRY_LIMIT: '3',
    ...overrides,
  });
}
