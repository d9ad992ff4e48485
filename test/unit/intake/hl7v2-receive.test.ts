import { OperationOutcomeError } from '@medplum/core';
import type { MedplumClient } from '@medplum/core';
import type { Pool } from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { receiveOru } from '../../../src/intake/hl7v2/receive-oru.js';
import type { AssessmentQueue } from '../../../src/jobs/assessment-queue.js';
import { createMetrics } from '../../../src/observability/create-metrics.js';

const MESSAGE = [
  'MSH|^~\\&|LAB|H|FUSION|H|20260101120000||ORU^R01^ORU_R01|M-1|P|2.5.1',
  'PID|1||MRN-1^^^X&https://h.example/mrn&URI',
  'OBX|1|NM|2160-0^Creatinine^LN||1.2|mg/dL^mg/dL^UCUM|||||F',
].join('\r');

/** A pool that finds no inbox row and records every statement; a queue that must not be reached. */
/** The EHR calls the test fakes (`search`, `executeBatch`); anything else is not called. */
function deps(ehr: Record<string, (...args: never[]) => Promise<unknown>>) {
  const statements: string[] = [];
  const pool = {
    query: async (text: string | { text: string }) => {
      statements.push(typeof text === 'string' ? text : text.text);
      return { rows: [] };
    },
  } as unknown as Pool;
  const queue = {} as AssessmentQueue;
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  return {
    statements,
    lines,
    deps: {
      pool,
      queue,
      ehr: ehr as unknown as MedplumClient,
      logger,
      metrics: createMetrics(),
      assigningAuthorities: {},
    },
  };
}

const msa = (ack: Buffer): string[] =>
  (
    ack
      .toString('utf8')
      .split('\r')
      .find((s) => s.startsWith('MSA|')) ?? ''
  ).split('|');
const err = (ack: Buffer): string =>
  ack
    .toString('utf8')
    .split('\r')
    .find((s) => s.startsWith('ERR|')) ?? '';

describe('receiveOru: what the EHR failing means for the ACK', () => {
  it('answers AR 207 when the EHR cannot be reached (the sender resends), stores nothing and logs no identifier', async () => {
    const {
      deps: d,
      statements,
      lines,
    } = deps({
      search: async () => {
        throw Object.assign(
          new TypeError('fetch failed for Patient?identifier=https://h.example/mrn|MRN-1'),
          { cause: { code: 'ECONNREFUSED' } },
        );
      },
    });
    const ack = await receiveOru(Buffer.from(MESSAGE), d);
    expect(msa(ack).slice(0, 3)).toEqual(['MSA', 'AR', 'M-1']);
    expect(err(ack)).toContain('|207^Application internal error^HL70357|E');
    expect(statements.every((s) => !/INSERT/i.test(s))).toBe(true);
    expect(lines.join('')).toContain('ECONNREFUSED');
    expect(lines.join('')).not.toContain('MRN-1');
  });

  it('answers AE 207 when the EHR refuses the resources made from the message (a resend cannot help)', async () => {
    const { deps: d } = deps({
      search: async () =>
        ({
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [{ resource: { resourceType: 'Patient', id: 'p1' } }],
        }) as never,
      executeBatch: async () => {
        throw new OperationOutcomeError({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'invalid', diagnostics: 'bad' }],
        });
      },
    });
    const ack = await receiveOru(Buffer.from(MESSAGE), d);
    expect(msa(ack).slice(0, 3)).toEqual(['MSA', 'AE', 'M-1']);
    expect(err(ack)).toContain('|207^Application internal error^HL70357|E');
  });

  it('answers AR when the EHR transaction response does not confirm every entry', async () => {
    const { deps: d } = deps({
      search: async () =>
        ({
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [{ resource: { resourceType: 'Patient', id: 'p1' } }],
        }) as never,
      executeBatch: async () =>
        ({
          resourceType: 'Bundle',
          type: 'transaction-response',
          entry: [{ response: { status: '500' } }],
        }) as never,
    });
    expect(msa(await receiveOru(Buffer.from(MESSAGE), d)).slice(0, 2)).toEqual(['MSA', 'AR']);
  });
});
