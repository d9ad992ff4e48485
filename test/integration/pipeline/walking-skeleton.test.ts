import { validateResource } from '@medplum/core';
import type { Observation, Patient, Provenance, RiskAssessment } from '@medplum/fhirtypes';
import { createHmac } from 'node:crypto';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import type { RunningServer } from '../../../src/main.js';
import { pollUntil as waitFor, useFusionFixture } from '../../helpers/fusion-fixture.js';

function observation(patientId: string, code: string, value: number, unit: string, ucum: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: ucum },
  };
}

describe('walking skeleton: notification → inbox → job → EHR → ONNX → transaction Bundle', () => {
  let fhirBaseUrl: string;
  let server: RunningServer;
  let pool: pg.Pool;
  let patient: Patient;
  const fixture = useFusionFixture({
    seed: async (client) => {
      patient = await client.createResource<Patient>({ resourceType: 'Patient', gender: 'female', birthDate: '1950-02-03' });
      await client.createResource(observation(patient.id ?? '', '8867-4', 118, 'beats/minute', '/min'));
      await client.createResource(observation(patient.id ?? '', '9279-1', 28, 'breaths/minute', '/min'));
    },
  });

  beforeAll(() => {
    ({ fhirBaseUrl, server, pool } = fixture());
  });

  it('assesses a patient after an Observation is created in the EHR and writes RiskAssessment + Provenance', async () => {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    await client.createResource(observation(patient.id ?? '', '59408-5', 88, '%', '%'));
    const assessment = await waitFor(async () => {
      const found = await client.searchResources('RiskAssessment', { subject: `Patient/${patient.id}` });
      return found[0];
    }, 'a RiskAssessment in the EHR');

    const { rows } = await pool.query('SELECT status FROM notification_inbox');
    expect(rows.length).toBeGreaterThan(0);

    expect(() => validateResource(assessment)).not.toThrow();
    expect(assessment.status).toBe('final');
    expect(assessment.basis?.length).toBeGreaterThan(0);
    for (const prediction of assessment.prediction ?? []) {
      expect(prediction.probabilityDecimal).toBeGreaterThanOrEqual(0);
      expect(prediction.probabilityDecimal).toBeLessThanOrEqual(1);
      expect(prediction.outcome?.coding?.[0]?.code).toBeTruthy();
    }
    const provenances = await client.searchResources('Provenance', { target: `RiskAssessment/${assessment.id}` });
    expect(provenances).toHaveLength(1);
    const provenance = provenances[0] as Provenance;
    expect(() => validateResource(provenance)).not.toThrow();
    const agent = provenance.agent?.[0]?.who?.reference ?? '';
    expect(agent).toMatch(/^Device\//);
    const device = await client.readReference({ reference: agent });
    expect(() => validateResource(device)).not.toThrow();
  });

  it('stores a redelivered notification once and writes no second RiskAssessment', async () => {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    const created = await client.createResource(observation(patient.id ?? '', '8310-5', 38.9, 'C', 'Cel'));
    await waitFor(async () => {
      const { rows } = await pool.query("SELECT 1 FROM notification_inbox WHERE resource_id = $1 AND status = 'processed'", [created.id]);
      return rows[0];
    }, 'the notification to be processed');
    const before = await client.searchResources('RiskAssessment', { subject: `Patient/${patient.id}` });

    // Deliver the very same notification again, as an EHR retrying after a lost 2xx would.
    const { rows: subs } = await pool.query<{ secret: string }>("SELECT secret FROM subscriptions WHERE key = 'observation'");
    const body = JSON.stringify(created);
    const signature = createHmac('sha256', subs[0]?.secret ?? '').update(body).digest('hex');
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${server.url}/intake/observation`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', 'x-signature': signature },
        body,
      });
      expect(response.status).toBe(200);
    }
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM notification_inbox WHERE resource_id = $1', [created.id]);
    expect(rows[0]?.n).toBe(1);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await client.searchResources('RiskAssessment', { subject: `Patient/${patient.id}` });
    expect(after.length).toBe(before.length);
  });

  it('writes the RiskAssessment, Provenance and Device in one transaction Bundle (ledger matches the EHR)', async () => {
    const { rows } = await pool.query<{ risk_assessment_ref: string; provenance_ref: string }>(
      'SELECT risk_assessment_ref, provenance_ref FROM assessment_ledger',
    );
    expect(rows.length).toBeGreaterThan(0);
    const client = createEhrClient({ fhirBaseUrl, fetch });
    for (const row of rows) {
      const ra = await client.readReference<RiskAssessment>({ reference: row.risk_assessment_ref });
      expect(ra.subject?.reference).toBe(`Patient/${patient.id}`);
      const prov = await client.readReference<Provenance>({ reference: row.provenance_ref });
      expect(prov.target?.[0]?.reference).toContain(`RiskAssessment/${ra.id}`);
    }
  });

  it('reports liveness, readiness (database, models, EHR) and Prometheus metrics', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ready');
    expect(Object.keys(body.checks).sort()).toEqual(['database', 'ehr', 'models']);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^fhir_fusion_notifications_received_total\{dialect="rest-hook-post"\} [1-9]/m);
    expect(metrics).toMatch(/^fhir_fusion_writebacks_total\{outcome="created"\} [1-9]/m);
    expect(metrics).toContain('fhir_fusion_stage_seconds_bucket{');
  });
});
