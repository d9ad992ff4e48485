import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { startSandboxServer } from '../../../src/sandbox/sandbox-server.js';
import type { SandboxServer } from '../../../src/sandbox/sandbox-server.js';
import { freePort } from '../../helpers/free-port.js';


let sandbox: SandboxServer;

beforeAll(async () => {
  sandbox = await startSandboxServer({ port: await freePort(), smart: { clients: [], autoApprove: true } });
});

afterAll(async () => {
  await sandbox.close();
});

describe('sandbox server (EHR + SMART + DICOMweb on one port)', () => {
  it('serves public metadata and SMART discovery, and refuses FHIR data without a token', async () => {
    const metadata = await fetch(`${sandbox.fhirBaseUrl}/metadata`);
    expect(metadata.status).toBe(200);
    expect(((await metadata.json()) as { resourceType: string }).resourceType).toBe('CapabilityStatement');

    const discovery = await fetch(`${sandbox.fhirBaseUrl}/.well-known/smart-configuration`);
    expect(discovery.status).toBe(200);
    expect(((await discovery.json()) as { token_endpoint: string }).token_endpoint).toMatch(/\/auth\/token$/);

    const anonymous = await fetch(`${sandbox.fhirBaseUrl}/Patient`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as OperationOutcome).resourceType).toBe('OperationOutcome');
  });

  it('answers DICOMweb QIDO-RS on the same origin', async () => {
    expect(sandbox.dicomwebBaseUrl).toBe(`${new URL(sandbox.fhirBaseUrl).origin}/dicomweb`);
    const studies = await fetch(`${sandbox.dicomwebBaseUrl}/studies`, { headers: { accept: 'application/dicom+json' } });
    expect([200, 204]).toContain(studies.status);
  });

  it('refuses SMART on an ephemeral port, where tokens could not name the base URL', async () => {
    await expect(startSandboxServer({ port: 0, smart: { clients: [] } })).rejects.toThrow(RangeError);
  });
});
