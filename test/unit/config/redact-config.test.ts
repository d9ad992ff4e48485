import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load-config.js';
import { redactConfig } from '../../../src/config/redact-config.js';

describe('redactConfig', () => {
  it('hides every secret value and keeps the rest', () => {
    const config = loadConfig({
      FHIR_BASE_URL: 'https://ehr.example.org/fhir',
      FHIR_AUTH: 'bearer',
      FHIR_BEARER_TOKEN: 'tok-secret',
      DATABASE_URL: 'postgres://u:pw-secret@db/x',
      SUBSCRIPTION_SECRETS: '{"s":"map-secret"}',
    });
    const shown = redactConfig(config);
    expect(shown).toMatchObject({
      FHIR_BEARER_TOKEN: '[set]',
      DATABASE_URL: '[set]',
      SUBSCRIPTION_SECRETS: '[set]',
      PORT: 8080,
    });
    expect(JSON.stringify(shown)).not.toMatch(/secret"/);
    expect(JSON.stringify(shown)).not.toContain('pw-secret');
    expect(redactConfig(loadConfig({ FHIR_BASE_URL: 'https://e/fhir' })).FHIR_BEARER_TOKEN).toBeUndefined();
  });
});
