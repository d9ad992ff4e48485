/**
 * CDS Hooks latency: `patient-view` calls for a patient with an existing assessment, measured
 * end to end over HTTP (JWT verification, jti replay check, data, cards, card recording).
 * Target: p95 under 200 ms. Run: `npx tsx bench/cds-hooks.ts [calls]`. Uses a scratch database
 * on DATABASE_URL's server when set (dropped afterwards), else the embedded Postgres in a temp
 * folder. Figures are measured in this run and printed; nothing is asserted.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { AIAST } from '../src/contracts/fusion-terminology.js';
import { percentile, scratchDatabase } from './scratch-database.js';
import { startCdsEnvironment } from '../test/integration/cds-hooks/cds-environment.js';

const calls = Number(process.argv[2] ?? 300);
const SERVICE = 'fhir-fusion-patient-view';



async function main(): Promise<void> {
  const db = await scratchDatabase('cds');
  const env = await startCdsEnvironment({ settings: db.settings });
  try {
    const serviceUrl = `${env.publicUrl}/cds-services/${SERVICE}`;
    const patientId = env.patient.id ?? '';
    const search = `${env.fhirBaseUrl}/RiskAssessment?patient=${patientId}&_security=${encodeURIComponent(`${AIAST.system}|${AIAST.code}`)}&_sort=-date&_count=20`;
    const assessments = (await (await fetch(search, { headers: { accept: 'application/fhir+json' } })).json()) as Bundle;
    const patient = { resourceType: 'Patient', id: patientId };
    const variants = {
      // The client sends everything (CDS Hooks 2.0 §Prefetch): no FHIR call by the service.
      'full prefetch': { patient, assessments },
      // Prefetch missing: the service searches fhirServer (here our own EHR, with our credentials).
      'no prefetch (fhirServer search)': undefined,
    };
    console.log(`CDS Hooks patient-view, ${calls} sequential calls per variant, ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(2)}`);
    for (const [label, prefetch] of Object.entries(variants)) {
      const tokens = await Promise.all(Array.from({ length: calls + 20 }, () => env.client.sign(serviceUrl)));
      const times: number[] = [];
      for (let i = 0; i < calls + 20; i++) {
        const body = JSON.stringify({
          hook: 'patient-view',
          hookInstance: randomUUID(),
          fhirServer: env.fhirBaseUrl,
          context: { userId: 'Practitioner/example', patientId },
          ...(prefetch ? { prefetch } : {}),
        });
        const start = performance.now();
        const response = await fetch(serviceUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i]}` },
          body,
        });
        const json = (await response.json()) as { cards?: unknown[] };
        const elapsed = performance.now() - start;
        if (response.status !== 200 || json.cards?.length !== 1) throw new Error(`unexpected answer ${response.status}`);
        if (i >= 20) times.push(elapsed); // the first 20 warm up JIT, pools and the JWKS cache
      }
      times.sort((a, b) => a - b);
      console.log(
        `  ${label.padEnd(34)} p50 ${percentile(times, 50).toFixed(1)} ms  p95 ${percentile(times, 95).toFixed(1)} ms  p99 ${percentile(times, 99).toFixed(1)} ms  max ${times[times.length - 1]?.toFixed(1)} ms`,
      );
    }
  } finally {
    await env.stop();
    await db.drop();
  }
}

await main();
