import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { checkSmartAccess } from '../../../../src/sandbox/smart/require-smart-token.js';
import type { AccessTokenClaims } from '../../../../src/sandbox/smart/smart-types.js';

function request(url: string): FastifyRequest {
  return { method: 'GET', url, headers: { authorization: 'Bearer t0k3n' } } as unknown as FastifyRequest;
}

function claims(scope: string, patient?: string): AccessTokenClaims {
  return { iss: 'x', aud: 'x', sub: 'u', client_id: 'c', scope, ...(patient ? { patient } : {}), exp: 0, iat: 0, jti: 'j' };
}

const owners: Record<string, string> = { 'DiagnosticReport/mine': 'Patient/p1', 'DiagnosticReport/theirs': 'Patient/p2' };
const patientOf = (type: string, id: string) => owners[`${type}/${id}`];

describe('patient/ scopes on reads by id (SMART App Launch 2 patient-specific scopes)', () => {
  it('lets a patient-context token read only resources of its own patient; user/ scopes are not limited', async () => {
    const decide = (url: string, scope: string) =>
      checkSmartAccess(request(url), { fhirPrefix: '/fhir', verifyAccessToken: async () => claims(scope, 'p1'), patientOf });
    expect((await decide('/fhir/DiagnosticReport/mine', 'patient/DiagnosticReport.rs')).ok).toBe(true);
    const refused = await decide('/fhir/DiagnosticReport/theirs', 'patient/DiagnosticReport.rs');
    expect(refused).toMatchObject({ ok: false, status: 403, error: 'insufficient_scope' });
    // Not stored (the server answers 404 itself) and user-level access are not refused here.
    expect((await decide('/fhir/DiagnosticReport/unknown', 'patient/DiagnosticReport.rs')).ok).toBe(true);
    expect((await decide('/fhir/DiagnosticReport/theirs', 'patient/DiagnosticReport.rs user/DiagnosticReport.rs')).ok).toBe(true);
  });

  it('checks every entry of a batch Bundle POSTed to the base as its own request', async () => {
    const batch = (...urls: string[]) =>
      ({
        method: 'POST',
        url: '/fhir',
        headers: { authorization: 'Bearer t0k3n' },
        body: {
          resourceType: 'Bundle',
          type: 'batch',
          entry: urls.map((url) => ({ request: { method: 'GET', url } })),
        },
      }) as unknown as FastifyRequest;
    const decide = (req: FastifyRequest, scope: string) =>
      checkSmartAccess(req, {
        fhirPrefix: '/fhir',
        verifyAccessToken: async () => claims(scope, 'p1'),
        patientOf,
      });
    expect(
      (
        await decide(
          batch('DiagnosticReport/mine', 'Patient/p1'),
          'patient/DiagnosticReport.rs patient/Patient.r',
        )
      ).ok,
    ).toBe(true);
    const refused = await decide(
      batch('DiagnosticReport/mine', 'DiagnosticReport/theirs'),
      'patient/DiagnosticReport.rs',
    );
    expect(refused).toMatchObject({ ok: false, status: 403, error: 'insufficient_scope' });
    expect(await decide(batch('Observation/o1'), 'patient/DiagnosticReport.rs')).toMatchObject({
      ok: false,
      status: 403,
    });
  });
});
