import { pino, type DestinationStream, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { logSerializers } from './log-serializers.js';
import { REDACTED, isSensitiveKey, redactPatientData, redactTopLevelKeys } from './redact-patient-data.js';

/** The server's logger: pino's. */
export type Logger = PinoLogger;

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** pino level (`LOG_LEVEL`), or `silent`. */
  level: LevelWithSilent;
  /** Where JSON lines go; stdout when absent. Tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/**
 * Top-level keys censored by pino's `redact`. Listed because pino resets the bindings formatter for
 * child loggers, so `logger.child({ birthDate })` reaches only `redact`, never `formatters`.
 * Deeper keys are covered by the `'*'` path, whose censor scrubs every object value.
 */
export const REDACT_PATHS = [
  '*',
  'name',
  'birthDate',
  'identifier',
  'telecom',
  'address',
  'text',
  'conclusion',
  'presentedForm',
  'data',
  'detail',
  'value',
  'valueQuantity',
  'valueString',
  'valueCodeableConcept',
  'valueInteger',
  'valueBoolean',
  'valueDateTime',
  'valueSampledData',
  'authorization',
  'cookie',
  '["x-signature"]',
  'token',
  'secret',
];

/**
 * pino calls this for every top-level value (wildcard path `'*'`, where `path` names no key) and
 * for each listed key. Object values are deep-scrubbed; listed keys are replaced outright.
 */
function censor(value: unknown, path: string[]): unknown {
  const key = path[0];
  if (typeof key === 'string' && isSensitiveKey(key)) return REDACTED;
  return typeof value === 'object' && value !== null ? redactPatientData(value) : value;
}

/**
 * A pino JSON logger that never prints patient data: every value of a merged object, child binding
 * or serializer result, and every interpolation argument, passes through {@link redactPatientData};
 * requests are logged without bodies, headers or query strings.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const settings = {
    level: options.level,
    serializers: logSerializers,
    redact: { paths: REDACT_PATHS, censor },
    formatters: {
      // Top-level keys of a log call's object that REDACT_PATHS does not list (e.g. `valueRatio`);
      // nested values are scrubbed once, by the censor.
      log: (object: Record<string, unknown>) => redactTopLevelKeys(object),
    },
    hooks: {
      // `logger.info('%o', patient)` interpolates into `msg`, which neither redact nor formatters see.
      logMethod(this: PinoLogger, args: unknown[], method: (...parts: unknown[]) => void) {
        const firstFormatArg = typeof args[0] === 'string' ? 1 : 2;
        const cleaned = args.map((arg, index) => (index < firstFormatArg ? arg : redactPatientData(arg)));
        method.apply(this, cleaned);
      },
    },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
