import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import { upsertSubscriptionSql } from '../../../src/store/subscriptions-repository.js';
import { backportBundle, signBody } from '../../helpers/backport-bundle.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

const SECRET = 'intake-secret-for-tests-0123456789';

interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text: the assertion below names it
  }
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body };
}

/** Sends raw bytes and reads the whole answer (for errors Node's HTTP parser raises). */
async function raw(url: string, bytes: string): Promise<Answer> {
  const { hostname, port } = new URL(url);
  const text = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const contentType = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
  return { status, contentType, body: JSON.parse(body) as unknown };
}

function expectOutcome(answer: Answer, status: number, expression?: string): void {
  expect({ status: answer.status, resourceType: (answer.body as { resourceType?: string }).resourceType }).toEqual({ status, resourceType: 'OperationOutcome' });
  expect(answer.contentType).toMatch(/^application\/fhir\+json/);
  if (expression !== undefined) {
    expect((answer.body as { issue: Array<{ expression?: string[] }> }).issue[0]?.expression).toEqual([expression]);
  }
}

/** Issue 18.4: every error on every (non-HTML) route is a FHIR OperationOutcome, fastify's own included. */
describe('every error is an OperationOutcome; text Postgres cannot store is a 400 before anything is stored', () => {
  let db: TestDatabase;
  let server: RunningServer;
  let limited: RunningServer;

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = { DATABASE_URL: db.url, FHIR_BASE_URL: 'http://127.0.0.1:9/fhir', INTAKE_MAX_BODY_BYTES: '65536' };
    server = await startServer(testConfig(config), { role: 'intake' });
    limited = await startServer(testConfig({ ...config, RATE_LIMIT_MAX: '2' }), { role: 'intake' });
    const pool = server.runtime.pool;
    await pool.query(upsertSubscriptionSql({ key: 'obs', kind: 'rest-hook-criteria', criteria: 'Observation', secret: SECRET, status: 'active' }));
    await pool.query(upsertSubscriptionSql({ key: 'topic', ehrSubscription: 'sub-1', kind: 'backport-topic', criteria: 'Observation', secret: SECRET, status: 'active' }));
  });

  afterAll(async () => {
    await limited?.stop();
    await server?.stop();
    await db?.drop();
  });

  const inboxRows = async (): Promise<number> =>
    Number((await server.runtime.pool.query<{ n: string }>('SELECT count(*) AS n FROM notification_inbox')).rows[0]?.n);

  const signed = (body: string): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', 'x-signature': signBody(SECRET, body) },
    body,
  });

  it.each([
    ['NUL in a rest-hook resource', 'obs', { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' }, note: [{ text: 'a\u0000b' }] }, 'Observation.note[0].text'],
    ['lone surrogate in a rest-hook resource', 'obs', { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x\ud800' }, subject: { reference: 'Patient/p1' } }, 'Observation.code.text'],
    ['lone surrogate in a property name', 'obs', { resourceType: 'Observation', id: 'o1', status: 'final', code: { ['k\udc00']: 1 }, subject: { reference: 'Patient/p1' } }, 'Observation.code'],
    [
      'NUL in a Backport carried resource',
      'topic',
      backportBundle({ subscriptionId: 'sub-1', eventsSinceSubscriptionStart: 1, events: [{ eventNumber: 1, focus: 'Observation/o2' }], resources: [{ resourceType: 'Observation', id: 'o2', status: 'final', subject: { reference: 'Patient/p1' }, valueString: 'x\u0000' }] }),
      'Bundle.entry[1].resource.valueString',
    ],
  ])('%s answers 400 naming the element, and stores nothing', async (_name, key, resource, expression) => {
    const body = JSON.stringify(resource);
    expectOutcome(await call(`${server.url}/intake/${key}`, signed(body)), 400, expression);
    expect(await inboxRows()).toBe(0);
  });

  it('a valid notification with an astral character (a surrogate pair) is stored', async () => {
    const body = JSON.stringify({ resourceType: 'Observation', id: 'o9', status: 'final', code: { text: 'ok \u{1F600}' }, subject: { reference: 'Patient/p1' } });
    expect((await call(`${server.url}/intake/obs`, signed(body))).status).toBe(200);
    expect(await inboxRows()).toBe(1);
  });

  it.each<[string, () => Promise<Answer>, number]>([
    ['a 200-character intake key (maxParamLength)', () => call(`${server.url}/intake/${'k'.repeat(200)}`, { method: 'POST' }), 414],
    ['an unknown route', () => call(`${server.url}/no/such/route`), 404],
    ['an unknown intake key', () => call(`${server.url}/intake/nope`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: '{}' }), 404],
    ['a body over the limit', () => call(`${server.url}/intake/obs`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: 'x'.repeat(70_000) }), 413],
    ['an XML body', () => call(`${server.url}/intake/obs`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<Observation/>' }), 415],
    ['an intake key that fails the path pattern', () => call(`${server.url}/intake/bad%20key`, { method: 'POST' }), 400],
    ['bad percent-encoding in the path', () => call(`${server.url}/intake/%E0%A4%A`, { method: 'POST' }), 400],
    ['invalid JSON to a CDS service', () => call(`${server.url}/cds-services/patient-view`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }), 400],
    ['a rate-limited client', async () => {
      let last: Answer | undefined;
      for (let i = 0; i < 4; i++) last = await call(`${limited.url}/intake/nope`, { method: 'POST' });
      return last!;
    }, 429],
    ['headers larger than the server accepts', () => raw(server.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431],
    ['a request that is not HTTP', () => raw(server.url, 'NOT HTTP AT ALL\r\n\r\n'), 400],
  ])('%s answers an OperationOutcome', async (_name, request, status) => {
    expectOutcome(await request(), status);
  });

  it('an 8 MB upload over the limit receives its 413 OperationOutcome instead of EPIPE (issue 18.6)', async () => {
    const { hostname, port } = new URL(server.url);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const chunks = 128; // 8 MiB
    // With Content-Length (refused before reading) and chunked (refused after the first megabyte).
    for (const declared of [true, false, true, false]) {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          { host: hostname, port: Number(port), method: 'POST', path: '/intake/obs', headers: { 'content-type': 'application/fhir+json', ...(declared ? { 'content-length': String(chunk.length * chunks) } : {}) } },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString('utf8')));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        let sent = 0;
        const pump = (): void => {
          // Written slowly, as a real client over a network would: the server answers mid-upload.
          while (sent < chunks) {
            sent++;
            if (!req.write(chunk)) {
              req.once('drain', () => setTimeout(pump, 1));
              return;
            }
            if (sent % 8 === 0) {
              setTimeout(pump, 1);
              return;
            }
          }
          req.end();
        };
        pump();
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'too-long' }] });
    }
  });
});
