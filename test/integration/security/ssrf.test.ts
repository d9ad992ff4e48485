import type { DiagnosticReport, Endpoint, ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { OutboundNotAllowedError, createAllowList, createOutboundFetch } from '../../../src/fhir/outbound-fetch.js';
import { syncSubscriptions } from '../../../src/subscriptions/subscription-sync.js';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function series(uid: string, modality: string): NonNullable<ImagingStudy['series']>[number] {
  return {
    uid,
    modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: modality },
    instance: [{ uid: `${uid}.1`, sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.1' } }],
  };
}

describe('SSRF: URLs found in EHR data never make the server call a host outside the allow-list', () => {
  let db: TestDatabase;
  let ehr: SandboxEhr;
  let server: RunningServer;
  let trap: Server;
  let trapOrigin: string;
  const trapped: string[] = [];
  let fhirBaseUrl: string;
  let patient: Patient;

  beforeAll(async () => {
    // The attacker's host: another loopback port, which only EHR data points at.
    trap = createServer((request, response) => {
      trapped.push(`${request.method ?? ''} ${request.url ?? ''}`);
      response.end('secret');
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapOrigin = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;

    db = await createTestDatabase();
    ehr = await createSandboxEhr({ logger: false });
    fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
    const client = createEhrClient({ fhirBaseUrl, fetch });
    patient = await client.createResource<Patient>({ resourceType: 'Patient', gender: 'male', birthDate: '1961-07-08' });
    const subject = { reference: `Patient/${patient.id}` };
    const endpoint = await client.createResource<Endpoint>({
      resourceType: 'Endpoint',
      status: 'active',
      connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs' },
      payloadType: [{ text: 'DICOM' }],
      address: `${trapOrigin}/dicomweb`,
    });
    await client.createResource<ImagingStudy>({
      resourceType: 'ImagingStudy',
      status: 'available',
      subject,
      started: new Date().toISOString(),
      identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:2.25.1111' }],
      endpoint: [{ reference: `Endpoint/${endpoint.id}` }],
      series: [series('2.25.1111.1', 'DX'), series('2.25.1111.2', 'CR'), series('2.25.1111.3', 'ECG')],
    });
    await client.createResource<DiagnosticReport>({
      resourceType: 'DiagnosticReport',
      status: 'final',
      subject,
      code: { coding: [{ system: 'http://loinc.org', code: '36643-5' }] },
      effectiveDateTime: new Date().toISOString(),
      issued: new Date().toISOString(),
      presentedForm: [
        { contentType: 'text/plain', url: `${trapOrigin}/report.txt` },
        { contentType: 'text/plain', url: `${trapOrigin.replace('127.0.0.1', 'localhost')}/Binary/1` },
      ],
    });
    server = await startServer(testConfig({ DATABASE_URL: db.url, FHIR_BASE_URL: fhirBaseUrl }));
    await syncSubscriptions({ client, pool: server.runtime.pool, publicUrl: server.url });
  });

  afterAll(async () => {
    await server?.stop();
    await ehr?.close();
    await db?.drop();
    await new Promise<void>((resolve) => trap?.close(() => resolve()));
  });

  it('assesses the patient without one request reaching the host named by ImagingStudy.endpoint or presentedForm.url', async () => {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patient.id}` },
      effectiveDateTime: new Date().toISOString(),
      valueQuantity: { value: 101, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    };
    await client.createResource(observation);
    const { rows } = await waitFor(async () => {
      const result = await server.runtime.pool.query<{ missing_modalities: string[] }>('SELECT missing_modalities FROM assessment_ledger');
      return result.rows.length > 0 ? result : undefined;
    }, 'an assessment');
    // The image and ECG could only have come from the trap, so they are reported missing.
    expect(rows[0]?.missing_modalities.join(' ')).toMatch(/image/i);
    expect(trapped).toEqual([]);
  });

  it('refuses a non-allow-listed URL before any byte leaves the process', async () => {
    const guarded = createOutboundFetch({ allowList: createAllowList([fhirBaseUrl]), timeoutMs: 2000 });
    for (const url of [`${trapOrigin}/x`, `${trapOrigin.replace('127.0.0.1', 'localhost')}/x`, 'file:///etc/passwd', 'http://[::1]:1/x']) {
      await expect(guarded(url)).rejects.toBeInstanceOf(OutboundNotAllowedError);
    }
    expect(trapped).toEqual([]);
  });
});
