import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { RiskAssessment } from '@medplum/fhirtypes';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/fixtures.js';
import type { TestDatabase } from '../../helpers/test-database.js';
import { createTestDatabase } from '../../helpers/test-database.js';
import type { BackfillSandbox } from './backfill-sandbox.js';
import { startBackfillSandbox } from './backfill-sandbox.js';
import { compiledCli } from '../../helpers/compiled-cli.js';

// Issue 12's full-size case: 1,000 patients (about 2.5 min on a 2-core machine, with the sandbox
// EHR in this process); BACKFILL_TEST_PATIENTS sets another size.
const PATIENTS = Number(process.env.BACKFILL_TEST_PATIENTS ?? 1000);
const KILL_AFTER = Math.ceil(PATIENTS * 0.15);

function startBackfill(env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, compiledCli('backfill', '--batch-size', '64', '--concurrency', '4'), {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('fhir-fusion backfill through Bulk Data $export', () => {
  let db: TestDatabase;
  let sandbox: BackfillSandbox;
  let pool: pg.Pool;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    // The export stays "in progress" for 1.5 s, so the client has to honour Retry-After.
    sandbox = await startBackfillSandbox(PATIENTS, { minDurationMs: 1500, linesPerFile: 2000 });
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    env = {
      DATABASE_URL: db.url,
      FHIR_BASE_URL: sandbox.fhirBaseUrl,
      DICOMWEB_BASE_URL: `${new URL(sandbox.fhirBaseUrl).origin}/dicomweb`,
      ACTIVE_MODELS: 'tabular-risk@1',
      LOG_LEVEL: 'error',
      INFERENCE_THREADS: '1',
      // The sandbox EHR shares this test process's CPU; do not let its slowness read as an outage.
      OUTBOUND_TIMEOUT_MS: '60000',
    };
  }, 180_000);

  afterAll(async () => {
    await pool?.end();
    await sandbox?.ehr.close();
    await db?.drop();
  });

  it('killed part-way and restarted, ends with exactly one assessment per patient', async () => {
    const first = startBackfill(env);
    // Kill (SIGKILL: no graceful shutdown) once a good share of patients is scored.
    const deadline = Date.now() + 300_000;
    let scoredBeforeKill = 0;
    for (;;) {
      const { rows } = await pool
        .query<{ n: number }>("SELECT count(*)::int AS n FROM backfill_patients WHERE state <> 'pending'")
        .catch(() => ({ rows: [{ n: 0 }] }));
      scoredBeforeKill = rows[0]?.n ?? 0;
      if (scoredBeforeKill >= KILL_AFTER) break;
      const code = await Promise.race([first.exited, new Promise((r) => setTimeout(() => r('running'), 250))]);
      if (code !== 'running') throw new Error(`backfill exited early (${String(code)}): ${first.output()}`);
      if (Date.now() > deadline) throw new Error(`backfill made no progress: ${first.output()}`);
    }
    first.child.kill('SIGKILL');
    await first.exited;
    expect(scoredBeforeKill).toBeLessThan(PATIENTS);

    const second = startBackfill(env);
    const code = await second.exited;
    expect(code, second.output()).toBe(0);
    expect(second.output()).toMatch(/resumed and finished: (\d+) scored, 0 skipped, 0 failed/);

    // One run, every patient finished, and nothing scored twice by the restart.
    const runs = await pool.query<{ state: string }>('SELECT state FROM backfill_runs');
    expect(runs.rows).toEqual([{ state: 'done' }]);
    const states = await pool.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM backfill_patients GROUP BY state');
    expect(states.rows).toEqual([{ state: 'scored', n: PATIENTS }]);
    const ledger = await pool.query<{ patient_id: string; n: number }>(
      'SELECT patient_id, count(*)::int AS n FROM assessment_ledger GROUP BY patient_id',
    );
    expect(ledger.rows).toHaveLength(PATIENTS);
    expect(ledger.rows.every((r) => r.n === 1)).toBe(true);
    const restartWritten = Number(/(\d+) assessments written this run/.exec(second.output())?.[1]);
    expect(restartWritten).toBeLessThanOrEqual(PATIENTS - scoredBeforeKill + 64);

    // The EHR holds exactly one RiskAssessment per patient.
    const assessments = (await sandbox.ehr.repo.searchResources({ resourceType: 'RiskAssessment', count: 5000 })) as RiskAssessment[];
    const perSubject = new Map<string, number>();
    for (const ra of assessments) {
      const subject = ra.subject?.reference ?? '';
      perSubject.set(subject, (perSubject.get(subject) ?? 0) + 1);
    }
    expect(perSubject.size).toBe(PATIENTS);
    expect([...perSubject.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(sandbox.patientIds.map((id) => `Patient/${id}`))).toEqual(new Set(perSubject.keys()));
  }, 1_200_000);
});
