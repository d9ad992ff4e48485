import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../../src/config/config-schema.js';
import { describeConfig, renderConfigTable } from '../../../src/config/describe-config.js';

describe('describeConfig', () => {
  it('describes every setting once, with type, default and description', () => {
    const rows = describeConfig();
    expect(rows.map((row) => row.key)).toEqual([...CONFIG_KEYS]);
    for (const row of rows) expect(row.description.length).toBeGreaterThan(10);
    const byKey = new Map(rows.map((row) => [row.key, row]));
    expect(byKey.get('PORT')).toMatchObject({
      type: 'integer',
      default: '8080',
      required: false,
      secret: false,
    });
    expect(byKey.get('PUBLIC_URL')?.default).toBe('http://HOST:PORT');
    expect(byKey.get('FHIR_BASE_URL')).toMatchObject({ type: 'url', default: undefined, required: true });
    expect(byKey.get('FHIR_BEARER_TOKEN')).toMatchObject({ secret: true, default: undefined });
    expect(byKey.get('EXECUTION_PROVIDERS')).toMatchObject({ type: 'list', default: 'cpu' });
    expect(byKey.get('COALESCE_WINDOW_MS')).toMatchObject({ type: 'duration-ms', default: '2000' });
    expect(byKey.get('SUBSCRIPTION_SECRETS')).toMatchObject({
      type: 'string-map',
      default: '{}',
      secret: true,
    });
  });

  it('renders a Markdown table with one row per setting', () => {
    const table = renderConfigTable();
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toBe('| Variable | Type | Default | Description |');
    expect(lines).toHaveLength(CONFIG_KEYS.length + 2);
    expect(table).toContain('| `FHIR_BASE_URL` | url | **required** |');
    expect(table).toContain('| `PORT` | integer | `8080` |');
    expect(table).toContain('`FHIR_BEARER_TOKEN_FILE`');
  });
});
