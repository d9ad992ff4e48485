import { describe, expectTypeOf, it } from 'vitest';
import type { Config, ExecutionProviderName, LogLevelName } from '../../../src/config/config-schema.js';

/**
 * `Config` is derived from the settings table (issue 22: each setting described once). These are
 * checked by `tsc --noEmit` (the project typecheck includes test/): a change to a parser, a
 * default or `required` that changes a value's type fails here.
 */
describe('Config is derived from the settings table', () => {
  it('a setting with a fixed default has its parser type', () => {
    expectTypeOf<Config['PORT']>().toEqualTypeOf<number>();
    expectTypeOf<Config['LOG_LEVEL']>().toEqualTypeOf<LogLevelName>();
    expectTypeOf<Config['EXECUTION_PROVIDERS']>().toEqualTypeOf<readonly ExecutionProviderName[]>();
    expectTypeOf<Config['SUBSCRIPTION_SECRETS']>().toEqualTypeOf<Readonly<Record<string, string>>>();
    expectTypeOf<Config['INFERENCE_BACKEND']>().toEqualTypeOf<'local' | 'kserve-v2'>();
  });

  it('a required setting and one with a derived default are never undefined', () => {
    expectTypeOf<Config['FHIR_BASE_URL']>().toEqualTypeOf<string>();
    expectTypeOf<Config['PUBLIC_URL']>().toEqualTypeOf<string>();
    expectTypeOf<Config['WRITEBACK_FHIR_BASE_URL']>().toEqualTypeOf<string>();
  });

  it('an optional setting without a default may be undefined', () => {
    expectTypeOf<Config['DATABASE_URL']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Config['OPERATOR_TOKEN']>().toEqualTypeOf<string | undefined>();
  });
});
