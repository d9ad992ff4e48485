import type { DiagnosticReport, Observation, Patient } from '@medplum/fhirtypes';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import app from '../../../src/app.js';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { syncSubscriptions } from '../../../src/subscriptions/subscription-sync.js';
import { createLogger } from '../../../src/observability/create-logger.js';
import { drafterFactory } from '../../../src/runtime/reference-drafter-factory.js';
import type { DemoSandbox } from '../../../src/sandbox/demo-sandbox.js';
import { startDemoSandbox } from '../../../src/sandbox/demo-sandbox.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import { pollUntil } from '../../helpers/fusion-fixture.js';

const PATIENTS = 3;

/** {@link pollUntil} with this file's bound on a hang. */
function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  return pollUntil(probe, what, { timeoutMs, intervalMs: 250 });
}

/** An SpO2 reading with a value no log line could contain by accident (two decimals). */
function spo2(patientId: string, value: number): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '59408-5' }] },
    subject: { reference: `Patient/${patientId}` },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: { value, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
  };
}

/** Strings whose presence in a log line would be PHI: names, identifiers, birth dates, values. */
async function phiOf(sandbox: DemoSandbox, written: number[]): Promise<{ texts: string[]; numbers: string[] }> {
  const client = createEhrClient({ fhirBaseUrl: sandbox.fhirBaseUrl, fetch });
  const texts = new Set<string>();
  const numbers = new Set<string>(written.map(String));
  for (const id of sandbox.patientIds) {
    const patient = (await client.readResource('Patient', id)) as Patient;
    for (const name of patient.name ?? []) {
      for (const part of [...(name.given ?? []), name.family ?? '']) if (part.length >= 3) texts.add(part);
    }
    for (const identifier of patient.identifier ?? []) if (identifier.value) texts.add(identifier.value);
    if (patient.birthDate) texts.add(patient.birthDate);
    for (const observation of (await client.searchResources('Observation', { subject: `Patient/${id}`, _count: '200' })) as Observation[]) {
      const value = observation.valueQuantity?.value;
      // Integers collide with ports and durations; fractional values are specific enough.
      if (value !== undefined && !Number.isInteger(value) && String(value).length >= 4) numbers.add(String(value));
    }
    for (const report of (await client.searchResources('DiagnosticReport', { subject: `Patient/${id}` })) as DiagnosticReport[]) {
      // Each sentence of the report text: any of them in a log is clinical content.
      for (const sentence of (report.conclusion ?? '').split(/(?<=\.)\s+/)) if (sentence.length >= 16) texts.add(sentence);
    }
  }
  return { texts: [...texts], numbers: [...numbers] };
}

describe('the demo path: logs carry no PHI, /metrics shows every family, the EHR access is audited', () => {
  let db: TestDatabase;
  let sandbox: DemoSandbox;
  let server: FastifyInstance;
  let url: string;
  const lines: string[] = [];
  const written: number[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    sandbox = await startDemoSandbox({ port: 0, patients: PATIENTS, seed: 1111 });
    const config = testConfig({
      DATABASE_URL: db.url,
      FHIR_BASE_URL: sandbox.fhirBaseUrl,
      DICOMWEB_BASE_URL: sandbox.dicomwebBaseUrl,
      LOG_LEVEL: 'trace',
      // As `npm run demo`: the reference drafter writes preliminary descriptions (issue #20), whose
      // sentences must not reach a log line either.
      DESCRIPTION_MODEL: 'report-drafter@1',
    });
    // The logger startServer builds, at trace level, into a stream the test reads back.
    let pending = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        pending += chunk.toString('utf8');
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        lines.push(...parts.filter((l) => l.length > 0));
        done();
      },
    });
    const logger = createLogger({ level: 'trace', destination });
    server = Fastify({ loggerInstance: logger as FastifyBaseLogger, bodyLimit: config.INTAKE_MAX_BODY_BYTES, requestIdHeader: 'x-request-id', pluginTimeout: 120_000 });
    await server.register(app, { config, openDrafter: drafterFactory({ logger, executionProviders: ['cpu'] }) });
    url = await server.listen({ host: '127.0.0.1', port: 0 });
    const client = createEhrClient({ fhirBaseUrl: sandbox.fhirBaseUrl, fetch });
    await syncSubscriptions({ client, pool: server.runtime.pool, publicUrl: url });
    for (const [index, patientId] of sandbox.patientIds.entries()) {
      const value = 90.37 + index * 1.11;
      written.push(Number(value.toFixed(2)));
      await client.createResource(spo2(patientId, Number(value.toFixed(2))));
    }
    await waitFor(async () => {
      const { rows } = await server.runtime.pool.query<{ n: number }>('SELECT count(DISTINCT patient_id)::int AS n FROM assessment_ledger');
      return (rows[0]?.n ?? 0) >= PATIENTS ? true : undefined;
    }, 'an assessment for every patient');
    await waitFor(async () => {
      const reports = (await client.searchResources('DiagnosticReport', { status: 'preliminary' })) as DiagnosticReport[];
      return reports.some((r) => r.meta?.security?.some((c) => c.code === 'AIAST') && (r.conclusion ?? '').length > 16) ? true : undefined;
    }, 'an AI-drafted preliminary description');
  });

  afterAll(async () => {
    await server?.close();
    await sandbox?.close();
    await db?.drop();
  });

  it('writes JSON log lines (logger at trace level) with a request id, and none holds a name, identifier, birth date or clinical value', async () => {
    const phi = await phiOf(sandbox, written);
    expect(phi.texts.length).toBeGreaterThan(PATIENTS * 3);
    expect(lines.length).toBeGreaterThan(20);
    const parsed = lines.map((line) => JSON.parse(line) as { level: number; reqId?: string });
    // Info and above from fastify and the pipeline; the logger itself ran at trace, so anything
    // logged at debug/trace by any stage is in `lines` too.
    expect(parsed.some((l) => l.level === 30)).toBe(true);
    expect(parsed.some((l) => typeof l.reqId === 'string')).toBe(true);
    const leaks: string[] = [];
    for (const line of lines) {
      for (const text of phi.texts) if (line.includes(text)) leaks.push(`${text} in ${line.slice(0, 200)}`);
      for (const number of phi.numbers) {
        if (new RegExp(`(?<![\\d.])${number.replace('.', '\\.')}(?!\\d)`).test(line)) leaks.push(`${number} in ${line.slice(0, 200)}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('exports every metric family on /metrics after the run, with the pipeline counters moved', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const families = [
      'fhir_fusion_notifications_received_total',
      'fhir_fusion_notifications_accepted_total',
      'fhir_fusion_notifications_rejected_total',
      'fhir_fusion_inbox_depth',
      'fhir_fusion_jobs_total',
      'fhir_fusion_stage_seconds',
      'fhir_fusion_fhir_round_trips_per_patient',
      'fhir_fusion_inference_batch_requests',
      'fhir_fusion_execution_provider',
      'fhir_fusion_writebacks_total',
      'fhir_fusion_dead_letters_total',
      'fhir_fusion_missed_event_recoveries_total',
    ];
    for (const family of families) expect(text, family).toMatch(new RegExp(`^# TYPE ${family} `, 'm'));
    expect(text).toMatch(/^fhir_fusion_notifications_accepted_total [1-9]/m);
    expect(text).toMatch(/^fhir_fusion_fhir_round_trips_per_patient_count [1-9]/m);
    expect(text).toMatch(/^fhir_fusion_stage_seconds_count\{stage="inference"\} [1-9]/m);
    expect(text).toMatch(/^fhir_fusion_execution_provider\{model="[^"]+",provider="cpu"\} 1$/m);
    expect(text).toMatch(/^fhir_fusion_writebacks_total\{outcome="created"\} [1-9]/m);
    // The demo's radiographs are what the image models were trained on (REFERENCE_RADIOGRAPH_SIZE):
    // the out-of-distribution detector refuses at most a false alarm now and then, not every image.
    const imageOod = [...text.matchAll(/^fhir_fusion_input_refusals_total\{([^}]*)\} (\d+)$/gm)]
      .filter((m) => m[1]?.includes('modality="image"') && m[1].includes('reason="out-of-distribution"'))
      .reduce((sum, m) => sum + Number(m[2]), 0);
    expect(imageOod).toBeLessThan(PATIENTS / 2);
  });

  it('recorded every EHR and PACS call in the audit trail: who, what, when, why', async () => {
    const { rows } = await server.runtime.pool.query<{ agent: string; action: string; purpose: string; patient_ref: string | null; reason: string }>(
      'SELECT agent, action, purpose, patient_ref, reason FROM ehr_audit',
    );
    expect(rows.length).toBeGreaterThan(PATIENTS * 2);
    expect(new Set(rows.map((r) => r.agent))).toEqual(new Set(['fhir-fusion']));
    const assessed = new Set(rows.filter((r) => r.purpose === 'TREAT').map((r) => r.patient_ref));
    for (const id of sandbox.patientIds) expect(assessed.has(`Patient/${id}`)).toBe(true);
    expect(rows.some((r) => r.reason === 'write back risk assessment' && r.action === 'E')).toBe(true);
    expect(rows.some((r) => r.reason === 'assemble patient record for risk assessment' && ['R', 'E'].includes(r.action))).toBe(true);
  });
});
