import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/observability/create-logger.js';

describe('createLogger as the fastify logger', () => {
  it('logs request and response lines without query strings, headers or bodies', async () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString('utf8'));
        callback();
      },
    });
    const app = Fastify({ loggerInstance: createLogger({ level: 'info', destination }) });
    app.post('/fhir/:type', async () => ({ resourceType: 'OperationOutcome', issue: [] }));
    const response = await app.inject({
      method: 'POST',
      url: '/fhir/Patient?identifier=987-65-4329',
      headers: { authorization: 'Bearer tok-xyz', 'content-type': 'application/json' },
      payload: { resourceType: 'Patient', name: [{ family: 'Zzyzxmorgan' }] },
    });
    await app.close();
    expect(response.statusCode).toBe(200);
    const lines = chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const incoming = lines.find((line) => line.msg === 'incoming request');
    const completed = lines.find((line) => line.msg === 'request completed');
    expect(incoming?.req).toMatchObject({
      method: 'POST',
      path: '/fhir/Patient',
      route: '/fhir/:type',
      query: '[Redacted]',
    });
    expect(completed?.res).toEqual({ statusCode: 200 });
    const output = chunks.join('');
    for (const text of ['987-65-4329', 'tok-xyz', 'Zzyzxmorgan']) expect(output).not.toContain(text);
  });
});
