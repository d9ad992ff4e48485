import type { Observation, Patient } from '@medplum/fhirtypes';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { syncSubscriptions } from '../../../src/subscriptions/subscription-sync.js';
import type { RunningServer } from '../../../src/main.js';
import { pollUntil, useFusionFixture } from '../../helpers/fusion-fixture.js';

const waitFor = <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> =>
  pollUntil(probe, what, { timeoutMs, intervalMs: 250 });

function heartRate(patientId: string, value: number): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  };
}

// The sandbox presents each release; fhir-fusion discovers it from /metadata (FHIR_VERSION unset).
describe.each([
  { release: 'R5' as const, dialect: 'topic-r5', bundleType: 'subscription-notification' },
  { release: 'R4B' as const, dialect: 'topic-r4b', bundleType: 'history' },
])(
  '$release server: native topic-based Subscription → notification → RiskAssessment',
  ({ release, dialect }) => {
    let server: RunningServer;
    let pool: pg.Pool;
    let fhirBaseUrl: string;
    const fixture = useFusionFixture({ subscribe: false, sandbox: { release } });

    beforeAll(() => {
      ({ fhirBaseUrl, server, pool } = fixture());
    });

    it(`registers ${release}-shaped Subscriptions for the published SubscriptionTopics, activated by the handshake`, async () => {
      const client = createEhrClient({ fhirBaseUrl, fetch });
      const results = await syncSubscriptions({
        client,
        pool,
        publicUrl: server.url,
        mode: 'auto',
        heartbeatSeconds: 30,
      });
      expect(results.map((r) => r.key).sort()).toEqual([
        'diagnosticreport-topic',
        'imagingstudy-topic',
        'observation-topic',
      ]);
      expect(results.every((r) => r.kind === 'backport-topic' && r.release === release)).toBe(true);
      const id = results.find((r) => r.key === 'observation-topic')?.ehrSubscription ?? '';
      const stored = (await (await fetch(`${fhirBaseUrl}/Subscription/${id}`)).json()) as Record<
        string,
        unknown
      >;
      if (release === 'R5') {
        // R5 §Subscription: topic, channelType Coding, parameter, content — no criteria, no extensions.
        expect(stored).toMatchObject({
          topic: 'https://fhir-fusion.dev/fhir/SubscriptionTopic/observation-create-or-update',
          channelType: {
            system: 'http://terminology.hl7.org/CodeSystem/subscription-channel-type',
            code: 'rest-hook',
          },
          endpoint: `${server.url}/intake/observation-topic`,
          heartbeatPeriod: 30,
          content: 'id-only',
          maxCount: 100,
        });
        expect(stored.criteria).toBeUndefined();
        expect(stored.parameter).toEqual([
          { name: 'Authorization', value: expect.stringMatching(/^Bearer [0-9a-f]{64}$/) as unknown },
        ]);
      } else {
        // R4B: the R4 Subscription with the Backport profile; the topic came from SubscriptionTopic.
        expect(stored).toMatchObject({
          criteria: 'https://fhir-fusion.dev/fhir/SubscriptionTopic/observation-create-or-update',
          meta: {
            profile: [
              'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription',
            ],
          },
        });
      }
      await waitFor(async () => {
        const { rows } = await pool.query(
          "SELECT 1 FROM subscriptions WHERE key = 'observation-topic' AND status = 'active'",
        );
        return rows[0];
      }, 'the handshake');
      const again = await syncSubscriptions({
        client,
        pool,
        publicUrl: server.url,
        mode: 'auto',
        heartbeatSeconds: 30,
      });
      expect(again.every((r) => r.action === 'updated')).toBe(true);
    }, 60_000);

    it('turns each notification into an inbox event of its release and writes a RiskAssessment', async () => {
      const client = createEhrClient({ fhirBaseUrl, fetch });
      await waitFor(async () => {
        const { rows } = await pool.query(
          "SELECT 1 FROM subscriptions WHERE key = 'observation-topic' AND status = 'active'",
        );
        return rows[0];
      }, 'active after the re-handshake');
      const patient = await client.createResource<Patient>({
        resourceType: 'Patient',
        gender: 'female',
        birthDate: '1951-02-03',
      });
      await client.createResource(heartRate(patient.id ?? '', 72));
      await client.createResource(heartRate(patient.id ?? '', 75));
      const written = await waitFor(
        async () => {
          const found = await client.searchResources('RiskAssessment', { subject: `Patient/${patient.id}` });
          return found.length > 0 ? found : undefined;
        },
        'a RiskAssessment for the patient',
        90_000,
      );
      expect(written[0]?.subject?.reference).toBe(`Patient/${patient.id}`);
      // The first notification can be assessed before the second one arrives: wait for both.
      const rows = await waitFor(async () => {
        const { rows: inbox } = await pool.query<{ dialect: string; event_number: string }>(
          "SELECT dialect, event_number::text FROM notification_inbox WHERE subscription = 'observation-topic' ORDER BY event_number",
        );
        return inbox.length >= 2 ? inbox : undefined;
      }, 'both notifications in the inbox');
      expect(rows.map((r) => r.dialect)).toEqual([dialect, dialect]);
      expect(rows.map((r) => r.event_number)).toEqual(['1', '2']);
      // eventsSinceSubscriptionStart was recorded: the counter that gap detection compares with.
      const { rows: sub } = await pool.query<{ events: string; gaps: number }>(
        "SELECT events_since_start::text AS events, gaps_detected::int AS gaps FROM subscriptions WHERE key = 'observation-topic'",
      );
      expect(sub[0]).toEqual({ events: '2', gaps: 0 });
    }, 120_000);
  },
);
