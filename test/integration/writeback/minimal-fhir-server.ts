import { getStatus } from '@medplum/core';
import type { FhirRequest, HttpMethod } from '@medplum/fhir-router';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Resource } from '@medplum/fhirtypes';
import Fastify from 'fastify';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';

/** A running in-memory FHIR R4 server for write-back tests. */
export interface MinimalFhirServer {
  baseUrl: string;
  repo: MemoryRepository;
  close(): Promise<void>;
}

/**
 * `@medplum/fhir-router` over a `MemoryRepository` behind a bare fastify app on an ephemeral port:
 * just enough HTTP (JSON bodies, transactions, search, read) to exercise write-back end to end.
 */
export async function startMinimalFhirServer(): Promise<MinimalFhirServer> {
  ensureR4DefinitionsIndexed();
  const repo = new MemoryRepository();
  const router = new FhirRouter();
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/fhir+json'],
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, JSON.parse(String(body)) as unknown);
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
  app.all('/*', async (request, reply) => {
    const url = request.url.replace(/^\/+/, '');
    const fhirRequest: FhirRequest = {
      method: request.method as HttpMethod,
      url,
      pathname: '',
      body: request.body as Resource | undefined,
      params: {},
      query: {},
      headers: request.headers,
      // Without this the router would run a transaction Bundle as a batch.
      config: { transactions: true },
    };
    const [outcome, resource] = await router.handleRequest(fhirRequest, repo);
    return reply
      .code(getStatus(outcome))
      .type('application/fhir+json')
      .send(resource ?? outcome);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { baseUrl: `http://127.0.0.1:${address.port}/`, repo, close: () => app.close() };
}
