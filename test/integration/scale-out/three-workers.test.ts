import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { Observation, Patient, RiskAssessment } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEhrClient } from '../../../src/fhir/ehr-client.js';
import { syncSubscriptions } from '../../../src/subscriptions/subscription-sync.js';
import type { RunningServer } from '../../../src/main.js';
import { startServer } from '../../../src/main.js';
import type { SandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { createSandboxEhr } from '../../../src/sandbox/ehr/sandbox-ehr.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { testConfig } from '../../helpers/test-config.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import { compiledCli } from '../../helpers/compiled-cli.js';

const PATIENTS = 40;

interface Worker {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Job ids this process finished ('patient assessed' log lines). */
  finished: string[];
  output: () => string;
}

function startWorker(env: Record<string, string>): Worker {
  let output = '';
  const finished: string[] = [];
  const child = spawn(process.execPath, compiledCli('serve', '--role', 'worker'), {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      output += `${line}\n`;
      try {
        const entry = JSON.parse(line) as { msg?: string; jobId?: string };
        if (entry.msg === 'patient assessed' && entry.jobId) finished.push(entry.jobId);
      } catch {
        // not a log line
      }
    }
  });
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, finished, output: () => output };
}

function observation(patientId: string, value: number): Observation {
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

describe('scale-out: an intake process and three worker processes on one database', () => {
  let db: TestDatabase;
  let ehr: SandboxEhr;
  let fhirBaseUrl: string;
  let intake: RunningServer;
  let pool: pg.Pool;
  const workers: Worker[] = [];
  const patientIds: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    ehr = await createSandboxEhr({ logger: false });
    fhirBaseUrl = await ehr.listen(0, '127.0.0.1');
    const client = createEhrClient({ fhirBaseUrl, fetch });
    for (let i = 0; i < PATIENTS; i++) {
      const p = await client.createResource<Patient>({ resourceType: 'Patient', gender: i % 2 ? 'male' : 'female', birthDate: '1950-02-03' });
      patientIds.push(p.id ?? '');
    }
    intake = await startServer(testConfig({ DATABASE_URL: db.url, FHIR_BASE_URL: fhirBaseUrl }), { role: 'intake' });
    pool = intake.runtime.pool;
    await syncSubscriptions({ client, pool, publicUrl: intake.url });
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) {
      w.child.kill('SIGKILL');
      await w.exited;
    }
    await intake?.stop();
    await ehr?.close();
    await db?.drop();
  });

  it('claims each job once, and a killed worker loses nothing', async () => {
    const client = createEhrClient({ fhirBaseUrl, fetch });
    for (const [i, id] of patientIds.entries()) await client.createResource(observation(id, 60 + i));
    await ehr.idle();
    const { rows: queued } = await pool.query<{ n: number }>('SELECT count(DISTINCT patient_id)::int AS n FROM notification_inbox');
    expect(queued[0]?.n).toBe(PATIENTS);

    const env = {
      DATABASE_URL: db.url,
      FHIR_BASE_URL: fhirBaseUrl,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      ACTIVE_MODELS: 'tabular-risk@1',
      INFERENCE_THREADS: '1',
      JOB_CONCURRENCY: '2',
      COALESCE_WINDOW_MS: '0',
      JOB_RETRY_DELAY_S: '1',
      // A killed worker's job is reclaimed after 5 s (+ at most 1 s until the next sweep).
      JOB_EXPIRE_S: '5',
      JOB_MAINTENANCE_INTERVAL_S: '1',
    };
    for (let i = 0; i < 3; i++) workers.push(startWorker(env));
    const victim = workers[0] as Worker;

    // Kill one worker (SIGKILL: no graceful release) as soon as it has done some work.
    const deadline = Date.now() + 180_000;
    while (victim.finished.length < 2) {
      if (Date.now() > deadline) throw new Error(`worker never took a job: ${victim.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    victim.child.kill('SIGKILL');
    await victim.exited;

    // Every notification processed, by the survivors if need be.
    for (;;) {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM notification_inbox WHERE status <> 'processed'");
      if (rows[0]?.n === 0) break;
      if (Date.now() > deadline) throw new Error(`notifications left unprocessed: ${rows[0]?.n}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    // No job finished by two processes; the survivors really shared the work.
    const owners = new Map<string, number>();
    for (const [i, w] of workers.entries()) for (const jobId of new Set(w.finished)) {
      expect(owners.has(jobId), `job ${jobId} finished by workers ${owners.get(jobId)} and ${i}`).toBe(false);
      owners.set(jobId, i);
    }
    expect(new Set(owners.values()).size).toBeGreaterThanOrEqual(2);

    // None lost, none twice: one ledger row and one RiskAssessment per patient.
    const { rows: ledger } = await pool.query<{ patient_id: string; n: number }>(
      'SELECT patient_id, count(*)::int AS n FROM assessment_ledger GROUP BY patient_id',
    );
    expect(ledger.map((r) => r.patient_id).sort()).toEqual([...patientIds].sort());
    expect(ledger.every((r) => r.n === 1)).toBe(true);
    const assessments = (await ehr.repo.searchResources({ resourceType: 'RiskAssessment', count: 1000 })) as RiskAssessment[];
    expect(assessments).toHaveLength(PATIENTS);
    expect(new Set(assessments.map((a) => a.subject?.reference)).size).toBe(PATIENTS);
  }, 400_000);
});
