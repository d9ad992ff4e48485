import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../../src/observability/create-logger.js';

/** A logger writing into an array of parsed JSON lines. */
function capture(level: 'info' | 'debug' = 'info'): {
  logger: Logger;
  lines: () => Array<Record<string, unknown>>;
  raw: () => string;
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level, destination });
  return {
    logger,
    raw: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const PATIENT = {
  resourceType: 'Patient',
  id: 'pat-1',
  name: [{ family: 'Zzyzxmorgan', given: ['Quillonia'] }],
  birthDate: '1947-03-09',
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: '987-65-4329' }],
  telecom: [{ system: 'phone', value: '+1-555-0199' }],
  address: [{ line: ['42 Wallaby Way'], city: 'Sydneyville' }],
};

const OBSERVATION = {
  resourceType: 'Observation',
  id: 'obs-1',
  code: { coding: [{ system: 'http://loinc.org', code: '2160-0' }], text: 'Creatinine' },
  valueQuantity: { value: 173.37, unit: 'umol/L' },
  component: [{ valueString: 'ST elevation in V2-V4' }],
  note: [{ text: 'called ward' }],
};

const FORBIDDEN = [
  'Zzyzxmorgan',
  'Quillonia',
  '1947-03-09',
  '987-65-4329',
  '555-0199',
  'Wallaby',
  '173.37',
  'ST elevation',
  'Creatinine',
  'called ward',
];

describe('createLogger redaction', () => {
  it('prints no patient name, birth date, identifier or Observation value, at any depth', () => {
    const { logger, raw, lines } = capture();
    logger.info({ patient: PATIENT, observation: OBSERVATION }, 'assembled');
    logger.info(
      { bundle: { entry: [{ resource: PATIENT }, { resource: { contained: [OBSERVATION] } }] } },
      'bundle',
    );
    logger.info(PATIENT);
    logger.child({ subject: PATIENT }).warn({ job: 'job-1' }, 'child binding');
    logger.info('interpolated %o and %j', PATIENT, OBSERVATION);
    const output = raw();
    for (const text of FORBIDDEN) expect(output).not.toContain(text);
    const first = lines()[0] as {
      patient: Record<string, unknown>;
      observation: Record<string, unknown>;
      msg: string;
    };
    // Structure and non-identifying fields stay, so logs remain useful.
    expect(first.msg).toBe('assembled');
    expect(first.patient).toMatchObject({
      resourceType: 'Patient',
      id: 'pat-1',
      name: '[Redacted]',
      birthDate: '[Redacted]',
    });
    expect(first.observation).toMatchObject({ resourceType: 'Observation', valueQuantity: '[Redacted]' });
    expect(lines()).toHaveLength(5);
  });

  it('redacts credentials in headers and secrets', () => {
    const { logger, raw } = capture();
    logger.info({
      headers: {
        authorization: 'Bearer abc.def.ghi',
        'x-signature': 'sig-123',
        'content-type': 'application/fhir+json',
      },
    });
    logger.info({ config: { FHIR_BEARER_TOKEN: 'tok-456', SUBSCRIPTION_SECRETS: { s: 'shh-789' } } });
    // Top-level keys that pino's redact paths do not list are still caught.
    logger.info({ valueRatio: { numerator: 'ratio-321' }, 'x-api-key': 'key-654' }, 'top level');
    const output = raw();
    for (const text of ['abc.def.ghi', 'sig-123', 'tok-456', 'shh-789', 'ratio-321', 'key-654']) {
      expect(output).not.toContain(text);
    }
    expect(output).toContain('application/fhir+json');
  });

  it('logs requests without bodies, headers or query strings', () => {
    const { logger, lines } = capture();
    const request = {
      id: 'req-1',
      method: 'GET',
      url: '/fhir/Observation?patient=pat-1&birthdate=1947-03-09',
      routeOptions: { url: '/fhir/:type' },
      headers: { authorization: 'Bearer secret-token', 'user-agent': 'curl/8' },
      body: PATIENT,
    };
    logger.info({ req: request, res: { statusCode: 200, body: OBSERVATION } }, 'request completed');
    const line = lines()[0];
    expect(line?.req).toEqual({
      id: 'req-1',
      method: 'GET',
      route: '/fhir/:type',
      path: '/fhir/Observation',
      query: '[Redacted]',
      userAgent: 'curl/8',
    });
    expect(line?.res).toEqual({ statusCode: 200 });
    expect(JSON.stringify(line)).not.toContain('1947-03-09');
    expect(JSON.stringify(line)).not.toContain('secret-token');
  });

  it('scrubs values that database errors copy into their fields', () => {
    const { logger, lines } = capture();
    const error = Object.assign(new Error('duplicate key value violates unique constraint'), {
      code: '23505',
      detail: 'Key (mrn)=(987-65-4329) already exists.',
    });
    logger.error({ err: error }, 'insert failed');
    logger.error(error);
    for (const line of lines()) {
      expect(line.err).toMatchObject({ type: 'Error', code: '23505', detail: '[Redacted]' });
      expect(JSON.stringify(line)).not.toContain('987-65-4329');
    }
    expect(lines()).toHaveLength(2);
  });

  it('honours the level and handles circular objects', () => {
    const { logger, lines } = capture('info');
    logger.debug('hidden');
    const loop: Record<string, unknown> = { kind: 'loop' };
    loop.self = loop;
    logger.info({ loop }, 'shown');
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ msg: 'shown', level: 30, loop: { kind: 'loop', self: '[Circular]' } });
  });
});

describe('createLogger child bindings', () => {
  it('redacts sensitive keys bound on child loggers, top-level and nested, with and without options', () => {
    const { logger, raw } = capture();
    logger.child({ birthDate: '1947-03-09', valueQuantity: { value: 173.37 } }).info('a');
    logger.child({ patient: PATIENT }, { level: 'info' }).info('b');
    logger.child({ job: 'job-7' }).child({ name: 'Zzyzxmorgan' }).info('c');
    const output = raw();
    for (const text of FORBIDDEN) expect(output).not.toContain(text);
    expect(output).toContain('"job":"job-7"');
  });
});
