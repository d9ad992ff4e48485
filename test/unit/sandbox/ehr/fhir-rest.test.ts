import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, Observation, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { createSandboxEhr } from '../../../../src/sandbox/ehr/sandbox-ehr.js';
import type { SandboxEhr } from '../../../../src/sandbox/ehr/sandbox-ehr.js';
import type { FhirDefinitions } from '../../../../src/sandbox/ehr/fhir-definitions.js';
import { loadFhirDefinitions } from '../../../../src/sandbox/ehr/fhir-definitions.js';

const FHIR = { 'content-type': 'application/fhir+json' };
let definitions: FhirDefinitions;
let sandbox: SandboxEhr;

beforeAll(async () => {
  definitions = loadFhirDefinitions();
  sandbox = await createSandboxEhr({ definitions });
});

afterAll(async () => {
  await sandbox.close();
});

async function request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await sandbox.app.inject({
    method,
    url: `/fhir/${path}`,
    headers: body === undefined ? headers : { ...FHIR, ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, headers: res.headers, body: res.json<T>() };
}

function observation(patientId: string, value: number, code = '8867-4'): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value, unit: '/min' },
  };
}

describe('sandbox EHR FHIR REST', () => {
  it('creates with a server id, reads, updates, vreads and keeps history', async () => {
    const created = await request<Patient>('POST', 'Patient', { resourceType: 'Patient', id: 'client-id', name: [{ family: 'Rest' }] });
    expect(created.status).toBe(201);
    expect(created.headers['content-type']).toMatch(/^application\/fhir\+json/);
    const patient = created.body;
    expect(patient.id).not.toBe('client-id');
    expect(created.headers.location).toContain(`/fhir/Patient/${patient.id}/_history/${patient.meta?.versionId}`);
    expect(created.headers.etag).toBe(`W/"${patient.meta?.versionId}"`);

    const updated = await request<Patient>('PUT', `Patient/${patient.id}`, { ...patient, gender: 'female' });
    expect(updated.status).toBe(200);
    expect(updated.body.meta?.versionId).not.toBe(patient.meta?.versionId);

    const first = await request<Patient>('GET', `Patient/${patient.id}/_history/${patient.meta?.versionId}`);
    expect(first.body.gender).toBeUndefined();
    const read = await request<Patient>('GET', `Patient/${patient.id}`);
    expect(read.body.gender).toBe('female');
    const history = await request<Bundle>('GET', `Patient/${patient.id}/_history`);
    expect(history.body.entry).toHaveLength(2);
    expect(history.body.entry?.map((e) => `${e.request?.method} ${e.response?.status}`)).toEqual(['PUT 200', 'POST 201']);

    const stale = await request<OperationOutcome>('PUT', `Patient/${patient.id}`, { ...patient, gender: 'male' }, { 'if-match': `W/"${patient.meta?.versionId}"` });
    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');
  });

  it('rejects invalid resources with 400 and the element path', async () => {
    const res = await request<OperationOutcome>('POST', 'Observation', { resourceType: 'Observation', code: { text: 'x' }, colour: 'red' });
    expect(res.status).toBe(400);
    const expressions = res.body.issue.flatMap((issue) => issue.expression ?? []);
    expect(expressions).toContain('Observation.status');
    expect(expressions).toContain('Observation.colour');

    const nested = await request<OperationOutcome>('POST', 'Observation', { ...observation('p', 1), valueQuantity: { value: 'high' } });
    expect(nested.status).toBe(400);
    expect(nested.body.issue.flatMap((issue) => issue.expression ?? []).join()).toMatch(/Observation\.value(Quantity)?\.value/);
  });

  it('answers errors as OperationOutcome: unknown id, bad JSON, wrong type in body', async () => {
    const missing = await request<OperationOutcome>('GET', 'Patient/does-not-exist');
    expect(missing.status).toBe(404);
    expect(missing.body.resourceType).toBe('OperationOutcome');
    const badJson = await sandbox.app.inject({ method: 'POST', url: '/fhir/Patient', headers: FHIR, payload: '{"resourceType":' });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json<OperationOutcome>().resourceType).toBe('OperationOutcome');
    const wrongType = await request<OperationOutcome>('POST', 'Patient', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
    expect(wrongType.status).toBe(400);
  });

  it('conditional create (If-None-Exist) and conditional update', async () => {
    const body: Patient = { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'cond-1' }] };
    const first = await request<Patient>('POST', 'Patient', body, { 'if-none-exist': 'identifier=urn:mrn|cond-1' });
    const second = await request<Patient>('POST', 'Patient', body, { 'if-none-exist': 'identifier=urn:mrn|cond-1' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);

    const upserted = await request<Patient>('PUT', 'Patient?identifier=urn:mrn|cond-2', { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'cond-2' }] });
    expect(upserted.status).toBe(201);
    const updated = await request<Patient>('PUT', 'Patient?identifier=urn:mrn|cond-2', { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'cond-2' }], gender: 'other' });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(upserted.body.id);
    expect(updated.body.gender).toBe('other');
  });

  it('searches with paging links, _sort, _lastUpdated, _include and _revinclude', async () => {
    const patient = (await request<Patient>('POST', 'Patient', { resourceType: 'Patient', name: [{ family: 'Search' }] })).body;
    for (let i = 0; i < 7; i++) await request('POST', 'Observation', observation(patient.id ?? '', i));
    await request('POST', 'Observation', observation(patient.id ?? '', 100, '9279-1'));

    const page1 = await request<Bundle<Observation>>('GET', `Observation?subject=Patient/${patient.id}&code=http://loinc.org|8867-4&_sort=-value-quantity&_count=3`);
    expect(page1.body.type).toBe('searchset');
    expect(page1.body.total).toBe(7);
    expect(page1.body.entry?.map((e) => e.resource?.valueQuantity?.value)).toEqual([6, 5, 4]);
    expect(page1.body.entry?.[0]?.fullUrl).toMatch(/\/fhir\/Observation\//);
    const next = page1.body.link?.find((l) => l.relation === 'next')?.url ?? '';
    expect(next).toContain('_offset=3');
    const page2 = await request<Bundle<Observation>>('GET', next.slice(next.indexOf('/fhir/') + 6));
    expect(page2.body.entry?.map((e) => e.resource?.valueQuantity?.value)).toEqual([3, 2, 1]);
    const page3 = await request<Bundle<Observation>>('GET', `Observation?subject=Patient/${patient.id}&code=http://loinc.org|8867-4&_sort=-value-quantity&_count=3&_offset=6`);
    expect(page3.body.link?.some((l) => l.relation === 'next')).toBe(false);

    const future = await request<Bundle>('GET', `Observation?subject=Patient/${patient.id}&_lastUpdated=gt2999-01-01`);
    expect(future.body.total).toBe(0);
    const past = await request<Bundle>('GET', `Observation?subject=Patient/${patient.id}&_lastUpdated=gt2000-01-01`);
    expect(past.body.total).toBe(8);

    const included = await request<Bundle>('GET', `Observation?subject=Patient/${patient.id}&_include=Observation:subject&_count=2`);
    const modes = included.body.entry?.map((e) => `${e.resource?.resourceType}:${e.search?.mode}`);
    expect(modes).toEqual(['Observation:match', 'Observation:match', 'Patient:include']);

    const revincluded = await request<Bundle>('GET', `Patient?_id=${patient.id}&_revinclude=Observation:subject`);
    expect(revincluded.body.total).toBe(1);
    expect(revincluded.body.entry?.filter((e) => e.search?.mode === 'include')).toHaveLength(8);
  });

  it('processes a batch entry by entry, with error paths pointing into the Bundle', async () => {
    const res = await request<Bundle>('POST', '', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: 'Batch' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', code: { text: 'no status' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    expect(res.body.entry?.[0]?.response?.status).toBe('201');
    expect(res.body.entry?.[1]?.response?.status).toBe('400');
    const outcome = res.body.entry?.[1]?.response?.outcome as OperationOutcome;
    expect(outcome.issue[0]?.expression).toEqual(['Bundle.entry[1].resource.status']);
  });

  it('processes a transaction atomically, rewriting urn:uuid and conditional references', async () => {
    await request('POST', 'Organization', { resourceType: 'Organization', identifier: [{ system: 'urn:org', value: 'o-1' }], name: 'Hospital' });
    const res = await request<Bundle>('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:2b5c1e4a-0000-4000-8000-000000000001',
          resource: { resourceType: 'Patient', name: [{ family: 'Txn' }], managingOrganization: { reference: 'Organization?identifier=urn:org|o-1' } },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: { ...observation('x', 88), subject: { reference: 'urn:uuid:2b5c1e4a-0000-4000-8000-000000000001' } },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    const patient = res.body.entry?.[0]?.resource as Patient;
    const obs = res.body.entry?.[1]?.resource as Observation;
    expect(obs.subject?.reference).toBe(`Patient/${patient.id}`);
    expect(patient.managingOrganization?.reference).toMatch(/^Organization\/[\w-]+$/);

    const invalid = await request<OperationOutcome>('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: 'Never' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', code: { text: 'x' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.issue[0]?.expression).toEqual(['Bundle.entry[1].resource.status']);
    const never = await request<Bundle>('GET', 'Patient?name=Never');
    expect(never.body.total).toBe(0);

    const unresolved = await request<OperationOutcome>('POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Patient', managingOrganization: { reference: 'Organization?identifier=urn:org|none' } }, request: { method: 'POST', url: 'Patient' } },
      ],
    });
    expect(unresolved.status).toBe(400);
    expect(unresolved.body.issue[0]?.expression).toEqual(['Bundle.entry[0].resource.managingOrganization.reference']);
  });

  it('serves a CapabilityStatement at metadata', async () => {
    const res = await request<{ resourceType: string; fhirVersion: string }>('GET', 'metadata');
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('CapabilityStatement');
    expect(res.body.fhirVersion).toBe('4.0.1');
  });

  it('runs the authorize hook before every request', async () => {
    const guarded = await createSandboxEhr({
      definitions,
      authorize: async (req) => {
        if (req.headers.authorization !== 'Bearer ok') throw Object.assign(new Error('Unauthorized'), { statusCode: 401 });
      },
    });
    try {
      const refused = await guarded.app.inject({ method: 'GET', url: '/fhir/Patient' });
      expect(refused.statusCode).toBe(401);
      expect(refused.json<OperationOutcome>().issue[0]?.code).toBe('login');
      const allowed = await guarded.app.inject({ method: 'GET', url: '/fhir/Patient', headers: { authorization: 'Bearer ok' } });
      expect(allowed.statusCode).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
