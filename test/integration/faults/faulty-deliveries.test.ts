import type { Observation, Patient } from '@medplum/fhirtypes';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { syncSubscriptions } from '../../../src/subscriptions/subscription-sync.js';
import type { RunningServer } from '../../../src/main.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { pollUntil, useFusionFixture } from '../../helpers/fusion-fixture.js';

const waitFor = <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> =>
  pollUntil(probe, what, { timeoutMs, intervalMs: 250 });

function heartRate(patientId: string, value: number): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

describe('topic-based subscription with dropped, duplicated and reordered deliveries', () => {
  let ehr: SandboxEhr;
  let server: RunningServer;
  let pool: pg.Pool;
  let fhirBaseUrl: string;

  const fixture = useFusionFixture({ subscribe: false, config: () => ({ SUBSCRIPTION_CHECK_INTERVAL_MS: '500' }) });

  beforeAll(() => {
    ({ ehr, fhirBaseUrl, server, pool } = fixture());
  });

  afterAll(() => {
    ehr?.faults.set(undefined);
  });

  it('syncs topic-based subscriptions (Backport IG) and is activated by the handshake', async () => {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    const results = await syncSubscriptions({ client, pool, publicUrl: server.url, mode: 'topic', heartbeatSeconds: 1 });
    expect(results.map((r) => r.key).sort()).toEqual(['diagnosticreport-topic', 'imagingstudy-topic', 'observation-topic']);
    expect(results.every((r) => r.kind === 'backport-topic')).toBe(true);
    await waitFor(async () => {
      const { rows } = await pool.query("SELECT 1 FROM subscriptions WHERE key = 'observation-topic' AND status = 'active' AND ehr_subscription IS NOT NULL");
      return rows[0];
    }, 'the handshake');
    // Idempotent: a second sync updates, creates nothing.
    const again = await syncSubscriptions({ client, pool, publicUrl: server.url, mode: 'topic', heartbeatSeconds: 1 });
    expect(again.every((r) => r.action === 'updated')).toBe(true);
    expect(await client.searchResources('Subscription', {})).toHaveLength(3);
    await waitFor(async () => {
      const { rows } = await pool.query("SELECT 1 FROM subscriptions WHERE key = 'observation-topic' AND status = 'active'");
      return rows[0];
    }, 'the re-handshake');
  });

  it('recovers every event exactly once and assesses every patient', async () => {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    const patients: Patient[] = [];
    for (let i = 0; i < 6; i++) {
      patients.push(await client.createResource<Patient>({ resourceType: 'Patient', gender: i % 2 ? 'male' : 'female', birthDate: `19${50 + i}-03-04` }));
    }
    ehr.faults.set({ drop: 0.25, duplicate: 0.25, reorder: true, seed: 20261123 });
    const created: Observation[] = [];
    for (let i = 0; i < 30; i++) {
      const patient = patients[i % patients.length] as Patient;
      created.push(await client.createResource(heartRate(patient.id ?? '', 60 + i)));
    }
    const { rows: sub } = await pool.query<{ ehr_subscription: string }>("SELECT ehr_subscription FROM subscriptions WHERE key = 'observation-topic'");
    const ehrSubscription = sub[0]?.ehr_subscription ?? '';
    // Every event number 1..30 ends up in the inbox exactly once (unique dedupe key), with its patient.
    await waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>(
        "SELECT count(DISTINCT event_number)::int AS n FROM notification_inbox WHERE subscription = 'observation-topic' AND patient_id IS NOT NULL",
      );
      return rows[0]?.n === 30 ? true : undefined;
    }, 'all 30 events in the inbox');
    const { rows: counts } = await pool.query<{ dialect: string; n: number }>(
      "SELECT dialect, count(*)::int AS n FROM notification_inbox WHERE subscription = 'observation-topic' GROUP BY dialect",
    );
    const total = counts.reduce((sum, c) => sum + c.n, 0);
    expect(total).toBe(30); // duplicates stored nothing
    expect(counts.find((c) => c.dialect === 'recovered')?.n ?? 0).toBeGreaterThan(0); // drops were recovered
    const focuses = await pool.query<{ resource_id: string }>("SELECT resource_id FROM notification_inbox WHERE subscription = 'observation-topic'");
    expect(new Set(focuses.rows.map((r) => r.resource_id))).toEqual(new Set(created.map((o) => o.id)));
    expect(ehrSubscription).not.toBe('');

    // Each patient is assessed; the ledger and the EHR agree (no double write-back).
    await waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM notification_inbox WHERE subscription = 'observation-topic' AND status IN ('received', 'queued')",
      );
      return rows[0]?.n === 0 ? true : undefined;
    }, 'every event processed', 90_000);
    ehr.faults.set(undefined);
    const { rows: ledger } = await pool.query<{ identity: string; patient_id: string; risk_assessment_ref: string }>(
      'SELECT identity, patient_id, risk_assessment_ref FROM assessment_ledger',
    );
    expect(new Set(ledger.map((l) => l.patient_id))).toEqual(new Set(patients.map((p) => p.id)));
    const written = await client.searchResources('RiskAssessment', { _count: '1000' });
    expect(written.length).toBe(ledger.length);
    expect(new Set(written.map((r) => `RiskAssessment/${r.id}`))).toEqual(new Set(ledger.map((l) => l.risk_assessment_ref)));
    const { rows: gap } = await pool.query("SELECT gaps_detected::int AS gaps, events_recovered::int AS recovered FROM subscriptions WHERE key = 'observation-topic'");
    expect(gap[0]?.recovered).toBeGreaterThan(0);
  }, 180_000);

  it('notices silence past the heartbeat period, asks $status and recovers everything that was dropped', async () => {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    const patient = await client.createResource<Patient>({ resourceType: 'Patient', gender: 'female', birthDate: '1947-07-08' });
    // A notification the previous test's `reorder` fault still holds back would be sent later, built
    // then (with the event count of that moment), and reveal these events as a gap without $status:
    // let every pending delivery go out first.
    await ehr.idle();
    // Every notification and heartbeat is lost from now on.
    ehr.faults.set({ drop: 1, seed: 7 });
    const created: Observation[] = [];
    for (let i = 0; i < 3; i++) created.push(await client.createResource(heartRate(patient.id ?? '', 100 + i)));
    await waitFor(async () => {
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM notification_inbox WHERE resource_id = ANY($1::text[]) AND patient_id = $2',
        [created.map((o) => o.id), patient.id],
      );
      return rows[0]?.n === 3 ? true : undefined;
    }, 'the dropped events recovered via $status and $events');
    ehr.faults.set(undefined);
    const { rows: dialects } = await pool.query<{ dialect: string }>('SELECT DISTINCT dialect FROM notification_inbox WHERE resource_id = ANY($1::text[])', [
      created.map((o) => o.id),
    ]);
    expect(dialects.map((d) => d.dialect)).toEqual(['recovered']); // nothing was delivered
    const { rows } = await pool.query("SELECT status_checked_at FROM subscriptions WHERE key = 'observation-topic'");
    expect(rows[0]?.status_checked_at).toBeInstanceOf(Date);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^fhir_fusion_subscription_alerts_total\{kind="heartbeat-missed"\} [1-9]/m);
  });
});
