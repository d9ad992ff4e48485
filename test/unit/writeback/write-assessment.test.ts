import { MedplumClient } from '@medplum/core';
import type { Bundle, RiskAssessment } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import type { ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { createProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import {
  WritebackInvalid,
  WritebackRejected,
  WritebackUnavailable,
  writeAssessment,
} from '../../../src/writeback/write-assessment.js';
import { referenceModel, sampleResult } from './assessment-fixture.js';

type Responder = (url: string, init?: RequestInit) => Promise<Response>;

let validator: ProfileValidator;
let calls: number;

function clientAnswering(respond: Responder): MedplumClient {
  return new MedplumClient({
    baseUrl: 'http://ehr.test/fhir/',
    fhirUrlPath: '',
    cacheTime: 0,
    autoBatchTime: 0,
    fetch: (url: string, init?: RequestInit) => {
      calls++;
      return respond(url, init);
    },
  });
}

function json(status: number, body: unknown): Promise<Response> {
  return Promise.resolve(
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/fhir+json' } }),
  );
}

function bundle(): Bundle {
  const { manifest, cardMarkdown } = referenceModel();
  return buildAssessmentBundle({
    result: sampleResult(),
    manifest,
    cardMarkdown,
    softwareVersion: '0.1.0',
    identifierSystem: 'urn:ietf:rfc:3986',
  });
}

function transactionResponse(statuses: string[]): Bundle {
  const types = ['DocumentReference', 'Device', 'RiskAssessment', 'Provenance'];
  return {
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: statuses.map((status, i) => ({
      response: { status, location: `${types[i]}/id-${i}/_history/1` },
    })),
  };
}

beforeAll(() => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
});

describe('writeAssessment', () => {
  it('reports created from 201 and exists from 200 on the RiskAssessment entry', async () => {
    calls = 0;
    const created = await writeAssessment(
      clientAnswering(() =>
        json(200, transactionResponse(['201 Created', '201 Created', '201 Created', '201 Created'])),
      ),
      bundle(),
      { validator },
    );
    expect(created).toEqual({
      outcome: 'created',
      riskAssessment: { reference: 'RiskAssessment/id-2' },
      provenance: { reference: 'Provenance/id-3' },
    });
    const exists = await writeAssessment(
      clientAnswering(() => json(200, transactionResponse(['200 OK', '200 OK', '200 OK', '200 OK']))),
      bundle(),
      { validator },
    );
    expect(exists.outcome).toBe('exists');
    expect(calls).toBe(2);
  });

  it('finds the resources by their conditional query when the server gives no location', async () => {
    const searched: string[] = [];
    const written = await writeAssessment(
      clientAnswering((url) => {
        if (url === 'http://ehr.test/fhir/') {
          const response = transactionResponse(['200 OK', '200 OK', '200 OK', '200 OK']);
          for (const entry of response.entry ?? []) delete entry.response?.location;
          return json(200, response);
        }
        searched.push(decodeURIComponent(url));
        const type = url.includes('/Provenance?') ? 'Provenance' : 'RiskAssessment';
        return json(200, {
          resourceType: 'Bundle',
          type: 'searchset',
          entry: [{ resource: { resourceType: type, id: `found-${type}` } }],
        });
      }),
      bundle(),
      { validator },
    );
    expect(written.riskAssessment.reference).toBe('RiskAssessment/found-RiskAssessment');
    expect(written.provenance.reference).toBe('Provenance/found-Provenance');
    expect(
      searched.some((u) => u.includes('RiskAssessment?') && u.includes('identifier=urn:ietf:rfc:3986|')),
    ).toBe(true);
    expect(searched.some((u) => u.includes('Provenance?') && u.includes('_tag=urn:ietf:rfc:3986|'))).toBe(
      true,
    );
  });

  it('posts the transaction to the FHIR base', async () => {
    let seen: { url: string; method?: string; body?: unknown } | undefined;
    await writeAssessment(
      clientAnswering((url, init) => {
        seen = { url, method: init?.method, body: JSON.parse(String(init?.body)) };
        return json(200, transactionResponse(['201', '201', '201', '201']));
      }),
      bundle(),
      { validator },
    );
    expect(seen?.url).toBe('http://ehr.test/fhir/');
    expect(seen?.method).toBe('POST');
    expect((seen?.body as Bundle).type).toBe('transaction');
  });

  it('never sends an invalid resource: WritebackInvalid with the path inside the Bundle', async () => {
    calls = 0;
    const bad = bundle();
    const ra = bad.entry?.[2]?.resource as RiskAssessment;
    ra.prediction![0]!.probabilityDecimal = 3;
    const error = await writeAssessment(
      clientAnswering(() => json(200, {})),
      bad,
      { validator },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WritebackInvalid);
    expect((error as WritebackInvalid).retryable).toBe(false);
    const paths = (error as WritebackInvalid).outcome.issue.flatMap((i) => i.expression ?? []);
    expect(paths).toContain('Bundle.entry[2].resource.prediction[0].probability');
    expect(calls).toBe(0);
  });

  it('turns a 4xx into WritebackRejected carrying the EHR OperationOutcome', async () => {
    const outcome = {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'invalid',
          details: { text: 'Unknown code system' },
          expression: ['RiskAssessment.method'],
        },
      ],
    };
    const error = await writeAssessment(
      clientAnswering(() => json(422, outcome)),
      bundle(),
      { validator },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WritebackRejected);
    expect((error as WritebackRejected).outcome).toEqual(outcome);
    expect((error as WritebackRejected).retryable).toBe(false);
  });

  it('turns a 5xx into a retryable WritebackUnavailable, without retrying itself', async () => {
    calls = 0;
    const outcome = {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'exception', details: { text: 'database down' } }],
    };
    const error = await writeAssessment(
      clientAnswering(() => json(503, outcome)),
      bundle(),
      { validator },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WritebackUnavailable);
    expect((error as WritebackUnavailable).retryable).toBe(true);
    expect(calls).toBe(1);
  });

  it("treats a proxy's HTML 502 page as unavailable, not as a rejection", async () => {
    const page = () =>
      Promise.resolve(
        new Response('<html><body>502 Bad Gateway</body></html>', {
          status: 502,
          headers: { 'content-type': 'text/html' },
        }),
      );
    await expect(writeAssessment(clientAnswering(page), bundle(), { validator })).rejects.toBeInstanceOf(
      WritebackUnavailable,
    );
  });

  it('turns a refused connection and a timeout into WritebackUnavailable', async () => {
    const refused = () =>
      Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
    await expect(writeAssessment(clientAnswering(refused), bundle(), { validator })).rejects.toBeInstanceOf(
      WritebackUnavailable,
    );
    const hang: Responder = (_url, init) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    await expect(
      writeAssessment(clientAnswering(hang), bundle(), { validator, timeoutMs: 50 }),
    ).rejects.toBeInstanceOf(WritebackUnavailable);
  });

  it('refuses a Bundle that is not an assessment transaction', async () => {
    const notTransaction: Bundle = { ...bundle(), type: 'batch' };
    await expect(
      writeAssessment(
        clientAnswering(() => json(200, {})),
        notTransaction,
        { validator },
      ),
    ).rejects.toBeInstanceOf(WritebackInvalid);
  });
});
