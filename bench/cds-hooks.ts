/**
 * CDS Hooks latency: `patient-view` calls for a patient with an existing assessment, measured
 * end to end over HTTP (JWT verification, jti replay check, data, cards, card recording).
 * Target: p95 under 200 ms. Run: `npx tsx bench/cds-hooks.ts [calls]`. Uses a scratch database
 * on DATABASE_URL's server when set (dropped afterwards), else the embedded Postgres in a temp
 * folder. Figures are measured in this run and printed; nothing is asserted.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AIAST } from '../src/contracts/fusion-terminology.js';
import { startCdsEnvironment } from '../test/integration/cds-hooks/cds-environment.js';

const calls = Number(process.argv[2] ?? 300);
const SERVICE = 'fhir-fusion-patient-view';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function scratchDatabase(): Promise<{ url?: string; drop: () => Promise<void> }> {
  const admin = process.env.DATABASE_URL;
  if (!admin) {
    const dir = mkdtempSync(join(tmpdir(), 'ff-bench-cds-'));
    process.env.DATA_DIR = dir;
    return { drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `ff_bench_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function main(): Promise<void> {
  const db = await scratchDatabase();
  const env = await startCdsEnvironment({ databaseUrl: db.url, settings: db.url ? {} : { DATA_DIR: process.env.DATA_DIR ?? '' } });
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
