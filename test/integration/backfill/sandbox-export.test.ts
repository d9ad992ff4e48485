import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkExportPlugin } from '../../../src/sandbox/bulk-export/bulk-export-plugin.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';

interface Manifest {
  transactionTime: string;
  output: Array<{ type: string; url: string; count: number }>;
}

describe('sandbox EHR $export (Bulk Data Access 2.0)', () => {
  let ehr: SandboxEhr;
  const ids: string[] = [];
  let between = '';

  const heartRate = (patientId: string, code: string): Observation => ({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: '2024-01-01T00:00:00Z',
    valueQuantity: { value: 70, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  });

  beforeAll(async () => {
    ehr = await createSandboxEhr({ logger: false });
    await ehr.app.register(bulkExportPlugin, { prefix: '/fhir', repo: ehr.repo, minDurationMs: 300, retryAfterSeconds: 2 });
    for (let i = 0; i < 3; i++) {
      const p = await ehr.repo.createResource<Patient>({ resourceType: 'Patient', gender: 'female' });
      ids.push(p.id);
      await ehr.repo.createResource(heartRate(p.id, '8867-4'));
    }
    await new Promise((r) => setTimeout(r, 5));
    between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await ehr.repo.createResource(heartRate(ids[0] ?? '', '9279-1'));
    await ehr.repo.createResource({ resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${ids[1]}` } }] });
  });

  afterAll(async () => ehr?.close());

  async function exportAll(url: string): Promise<{ manifest: Manifest; lines: Record<string, Array<{ id: string; resourceType: string }>> }> {
    const kick = await ehr.app.inject({ method: 'GET', url, headers: { prefer: 'respond-async', accept: 'application/fhir+json' } });
    expect(kick.statusCode).toBe(202);
    const status = new URL(String(kick.headers['content-location'])).pathname;
    const first = await ehr.app.inject({ method: 'GET', url: status });
    expect(first.statusCode).toBe(202);
    expect(first.headers['retry-after']).toBe('2');
    await new Promise((r) => setTimeout(r, 350));
    const done = await ehr.app.inject({ method: 'GET', url: status });
    expect(done.statusCode).toBe(200);
    const manifest = done.json<Manifest>();
    const lines: Record<string, Array<{ id: string; resourceType: string }>> = {};
    for (const file of manifest.output) {
      const body = await ehr.app.inject({ method: 'GET', url: new URL(file.url).pathname });
      expect(body.headers['content-type']).toBe('application/fhir+ndjson');
      const parsed = body.body.trim().split('\n').map((l) => JSON.parse(l) as { id: string; resourceType: string });
      expect(parsed).toHaveLength(file.count);
      (lines[file.type] ??= []).push(...parsed);
    }
    return { manifest, lines };
  }

  it('exports every patient and their Observations as NDJSON after polling', async () => {
    const { lines } = await exportAll('/fhir/Patient/$export?_type=Patient,Observation');
    expect(lines.Patient?.map((p) => p.id).sort()).toEqual([...ids].sort());
    expect(lines.Observation).toHaveLength(4);
  });

  it('limits a Group export to its members, and honours _since and _typeFilter', async () => {
    const group = (await ehr.repo.searchResources({ resourceType: 'Group' }))[0];
    const byGroup = await exportAll(`/fhir/Group/${group?.id}/$export?_type=Patient`);
    expect(byGroup.lines.Patient?.map((p) => p.id)).toEqual([ids[1]]);
    const since = await exportAll(`/fhir/$export?_type=Observation&_since=${encodeURIComponent(between)}`);
    expect(since.lines.Observation).toHaveLength(1);
    const filtered = await exportAll(`/fhir/Patient/$export?_type=Observation&_typeFilter=${encodeURIComponent('Observation?code=9279-1')}`);
    expect(filtered.lines.Observation).toHaveLength(1);
  });

  it('refuses a kick-off without Prefer: respond-async, and an unknown Group, with OperationOutcomes', async () => {
    const noPrefer = await ehr.app.inject({ method: 'GET', url: '/fhir/$export' });
    expect(noPrefer.statusCode).toBe(400);
    expect(noPrefer.json().issue[0].expression).toEqual(['Prefer']);
    const missing = await ehr.app.inject({ method: 'GET', url: '/fhir/Group/nope/$export', headers: { prefer: 'respond-async' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().resourceType).toBe('OperationOutcome');
  });
});
