import { describe, expect, it } from 'vitest';
import { parseFeedback } from '../../../src/review/cds-hooks/parse-feedback.js';
import { parseHookRequest } from '../../../src/review/cds-hooks/parse-hook-request.js';

const base = {
  hook: 'patient-view',
  hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
  fhirServer: 'http://hooks.smarthealthit.org:9080',
  fhirAuthorization: { access_token: 't', token_type: 'Bearer', expires_in: 300, scope: 'user/Patient.read', subject: 'cds-service4' },
  context: { userId: 'Practitioner/example', patientId: '1288992' },
  prefetch: { patient: { resourceType: 'Patient', id: '1288992' }, assessments: null },
};

function expression(result: { ok: boolean; issue?: { issue?: Array<{ expression?: string[] }> } }): string[] | undefined {
  return result.ok ? undefined : result.issue?.issue?.[0]?.expression;
}

describe('parseHookRequest', () => {
  it("parses the spec's example, keeping null prefetch values", () => {
    const parsed = parseHookRequest(base, 'patient-view');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.context).toEqual({ userId: 'Practitioner/example', patientId: '1288992' });
    expect(parsed.value.prefetch.assessments).toBeNull();
    expect(parsed.value.fhirAuthorization?.token_type).toBe('Bearer');
  });

  it.each([
    [{ ...base, hook: 'order-sign' }, 'hook'],
    [{ ...base, hookInstance: '123' }, 'hookInstance'],
    [{ ...base, fhirServer: 'ftp://x' }, 'fhirServer'],
    [{ ...base, fhirServer: undefined }, 'fhirServer'],
    [{ ...base, fhirAuthorization: { ...base.fhirAuthorization, token_type: 'MAC' } }, 'fhirAuthorization.token_type'],
    [{ ...base, context: { patientId: 'a/b' } }, 'context.patientId'],
    [{ ...base, context: undefined }, 'context'],
    [{ ...base, prefetch: { patient: 'Patient/1' } }, 'prefetch.patient'],
  ])('refuses %# naming %s', (body, path) => {
    expect(expression(parseHookRequest(body, 'patient-view'))).toEqual([path]);
  });
});

describe('parseFeedback', () => {
  const card = 'f3b6d4a2-5d3e-4c1a-9a77-3c1f2a3b4c5d';
  it('parses accepted and overridden items', () => {
    const parsed = parseFeedback({
      feedback: [
        { card, outcome: 'accepted', acceptedSuggestions: [{ id: 's1' }], outcomeTimestamp: '2026-11-23T19:00:00Z' },
        { card, outcome: 'overridden', overrideReason: { reason: { code: 'x', system: 'urn:s' }, userComment: 'c' }, outcomeTimestamp: '2026-11-23T19:00:00Z' },
      ],
    });
    expect(parsed.ok && parsed.value.map((f) => f.outcome)).toEqual(['accepted', 'overridden']);
  });

  it.each([
    [{}, 'feedback'],
    [{ feedback: [{ card: 'nope', outcome: 'accepted', outcomeTimestamp: '2026-11-23T19:00:00Z' }] }, 'feedback[0].card'],
    [{ feedback: [{ card, outcome: 'ignored', outcomeTimestamp: '2026-11-23T19:00:00Z' }] }, 'feedback[0].outcome'],
    [{ feedback: [{ card, outcome: 'accepted' }] }, 'feedback[0].outcomeTimestamp'],
    [{ feedback: [{ card, outcome: 'accepted', overrideReason: {}, outcomeTimestamp: '2026-11-23T19:00:00Z' }] }, 'feedback[0].overrideReason'],
    [{ feedback: [{ card, outcome: 'overridden', overrideReason: { reason: {} }, outcomeTimestamp: '2026-11-23T19:00:00Z' }] }, 'feedback[0].overrideReason.reason.code'],
  ])('refuses %# naming %s', (body, path) => {
    expect(expression(parseFeedback(body))).toEqual([path]);
  });
});
