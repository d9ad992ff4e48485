import type { DiagnosticReport, Endpoint, ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import { createServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundNotAllowedError, createAllowList, createOutboundFetch } from '../../../src/fhir/outbound-fetch.js';
import { pollUntil, useFusionFixture } from '../../helpers/fusion-fixture.js';

function series(uid: string, modality: string): NonNullable<ImagingStudy['series']>[number] {
  return {
    uid,
    modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: modality },
    instance: [{ uid: `${uid}.1`, sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.1' } }],
  };
}

describe('SSRF: URLs found in EHR data never make the server call a host outside the allow-list', () => {
  let trap: Server;
  let trapOrigin: string;
  const trapped: string[] = [];
  let patient: Patient;

  // Registered before the fixture's beforeAll, so the trap's origin exists when the EHR is seeded.
  beforeAll(async () => {
    // The attacker's host: another loopback port, which only EHR data points at.
    trap = createServer((request, response) => {
      trapped.push(`${request.method ?? ''} ${request.url ?? ''}`);
      response.end('secret');
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapOrigin = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => trap?.close(() => resolve()));
  });

  const fixture = useFusionFixture({
    seed: async (client) => {
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
    },
  });

  it('assesses the patient without one request reaching the host named by ImagingStudy.endpoint or presentedForm.url', async () => {
    const { client, pool } = fixture();
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
    const { rows } = await pollUntil(async () => {
      const result = await pool.query<{ missing_modalities: string[] }>('SELECT missing_modalities FROM assessment_ledger');
      return result.rows.length > 0 ? result : undefined;
    }, 'an assessment', { timeoutMs: 60_000 });
    // The image and ECG could only have come from the trap, so they are reported missing.
    expect(rows[0]?.missing_modalities.join(' ')).toMatch(/image/i);
    expect(trapped).toEqual([]);
  });

  it('refuses a non-allow-listed URL before any byte leaves the process', async () => {
    const guarded = createOutboundFetch({ allowList: createAllowList([fixture().fhirBaseUrl]), timeoutMs: 2000 });
    for (const url of [`${trapOrigin}/x`, `${trapOrigin.replace('127.0.0.1', 'localhost')}/x`, 'file:///etc/passwd', 'http://[::1]:1/x']) {
      await expect(guarded(url)).rejects.toBeInstanceOf(OutboundNotAllowedError);
    }
    expect(trapped).toEqual([]);
  });
});
