/**
 * HL7 v2 door throughput: `ORU^R01` messages (4 NM results each) sent over one MLLP connection with
 * `@medplum/hl7`'s client, each waiting for its ACK as interface engines do; every message is a
 * Patient search and a transaction in the sandbox EHR plus the inbox commit before the `AA`.
 * The server runs `--role intake` (no models) so the figure is the door's, not the pipeline's.
 * Run: `npm run bench -- hl7v2 [messages]`. Uses a scratch database on DATABASE_URL's server when
 * set (dropped afterwards), else the embedded Postgres in a temp folder. Synthetic data only;
 * figures are measured in this run and printed; nothing is asserted.
 */
import { Hl7Message } from '@medplum/core';
import type { Observation, Patient } from '@medplum/fhirtypes';
import { Hl7Client } from '@medplum/hl7';
import { availableParallelism, loadavg } from 'node:os';
import { loadConfig } from '../src/config/load-config.js';
import { createEhrClient } from '../src/fhir/ehr-client.js';
import { startServer } from '../src/main.js';
import { createSandboxEhr } from '../src/sandbox/ehr/sandbox-ehr.js';
import { renderOruR01 } from '../src/sandbox/hl7v2/oru-r01.js';
import { percentile, scratchDatabase } from './scratch-database.js';

const messages = Number(process.argv[2] ?? 500);
const PATIENTS = 20;
const MRN = 'https://hospital.example.org/fhir/sid/mrn';



function lab(code: string, value: number, unit: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code }] },
    effectiveDateTime: new Date().toISOString(),
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
  };
}

async function main(): Promise<void> {
  const db = await scratchDatabase('hl7');
  const ehr = await createSandboxEhr({ logger: false });
  const fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
  const client = createEhrClient({ fhirBaseUrl, fetch });
  for (let i = 0; i < PATIENTS; i++) {
    await client.createResource<Patient>({
      resourceType: 'Patient',
      identifier: [{ system: MRN, value: `MRN-${i}` }],
    });
  }
  const server = await startServer(
    loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'error',
      FHIR_BASE_URL: fhirBaseUrl,
      HL7_MLLP_PORT: '0',
      ...db.settings,
    }),
    { role: 'intake' },
  );
  const sender = new Hl7Client({ host: '127.0.0.1', port: server.server.hl7v2?.port ?? 0, keepAlive: true });
  try {
    const times: number[] = [];
    const started = performance.now();
    for (let i = 0; i < messages; i++) {
      const text = renderOruR01({
        controlId: `BENCH-${i}`,
        patientIdentifier: { system: MRN, value: `MRN-${i % PATIENTS}` },
        observations: [
          lab('2160-0', 1.1, 'mg/dL'),
          lab('6690-2', 9.5, '10*3/uL'),
          lab('1988-5', 40, 'mg/L'),
          lab('2345-7', 110, 'mg/dL'),
        ],
      });
      const t0 = performance.now();
      const ack = await sender.sendAndWait(Hl7Message.parse(text), { timeoutMs: 30_000 });
      times.push(performance.now() - t0);
      if (ack.getSegment('MSA')?.getField(1)?.toString() !== 'AA')
        throw new Error(`message ${i} was not acknowledged AA`);
    }
    const seconds = (performance.now() - started) / 1000;
    times.sort((a, b) => a - b);
    console.log(
      `HL7 v2 ORU^R01 over MLLP, ${messages} messages × 4 OBX, one connection, ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(2)}`,
    );
    console.log(`  ${(messages / seconds).toFixed(1)} messages/s (${seconds.toFixed(1)} s)`);
    console.log(
      `  ACK latency p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms, max ${percentile(times, 100).toFixed(1)} ms`,
    );
  } finally {
    await sender.close();
    await server.stop();
    await ehr.close();
    await db.drop();
  }
}

await main();
