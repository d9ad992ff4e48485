import { outcome } from '../fhir/operation-outcome.js';
import type { AssessJob } from '../jobs/assess-queue.js';
import { PermanentJobError } from '../jobs/job-errors.js';
import { markInbox, pendingForPatient } from '../store/inbox-repository.js';
import { recordDeadLetter } from '../store/ledger-repository.js';
import { scorePatient, settleInterruptedWrites } from './score-patient.js';
import type { AssessPatientDeps } from './stage-types.js';

/** Summary of one job run (returned for tests and logs; no clinical values). */
export interface AssessRunSummary {
  notifications: number;
  written: number;
  skipped: Array<{ model: string; reason: string }>;
  status: 'processed' | 'nothing-pending' | 'patient-gone' | 'dead-letter';
}

/**
 * The per-patient job: re-read the EHR (never trust the notification's copy), assess with every
 * active model, write each result back idempotently, record it in the ledger, and mark the
 * notifications that triggered it as processed. Safe to run twice: the write-back is a conditional
 * create on the assessment identity and the ledger insert is `ON CONFLICT DO NOTHING`.
 */
export async function assessPatient(job: AssessJob, deps: AssessPatientDeps): Promise<AssessRunSummary> {
  const { pool, metrics } = deps;
  const clock = metrics.stageClock;
  const log = deps.logger.child({ jobId: job.id, traceId: job.data.traceId });
  const pending = await clock.run('queue', () => pendingForPatient(pool, job.data.patientId));
  const ids = pending.map((p) => p.id);
  if (pending.length === 0) {
    // A run of this patient's job killed after the EHR committed may have had its notifications
    // taken by a later run; its write-ahead intent is settled here all the same.
    await settleInterruptedWrites(job.data.patientId, { db: pool, locate: deps.locate });
    return { notifications: 0, written: 0, skipped: [], status: 'nothing-pending' };
  }
  const started = process.hrtime.bigint();
  const seconds = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e9;
  try {
    const asOf = deps.now?.() ?? new Date();
    const t0 = process.hrtime.bigint();
    const record = await clock.run('assembly', () => deps.assemble(job.data.patientId, asOf));
    metrics.stageSeconds.observe({ stage: 'assembly' }, seconds(t0));
    if (!record) {
      await markInbox(pool, ids, 'ignored', outcome('not-found', 'Patient no longer exists in the EHR'));
      return { notifications: ids.length, written: 0, skipped: [], status: 'patient-gone' };
    }
    metrics.fhirRoundTrips.observe(record.roundTrips);
    const summary: AssessRunSummary = { notifications: ids.length, written: 0, skipped: [], status: 'processed' };
    const scored = await scorePatient(record, {
      predict: deps.predict,
      write: deps.write,
      locate: deps.locate,
      db: pool,
      models: deps.models(),
      traceId: job.data.traceId,
      metrics,
      ...(deps.draft ? { draft: deps.draft } : {}),
    });
    // The reason names what was refused (kinds of identifier, a contract tag), never a value.
    if (scored.draft?.status === 'not-drafted') log.info({ reason: scored.draft.reason }, 'description not drafted');
    summary.written = scored.written;
    summary.skipped = scored.skipped;
    await deps.afterScoring?.(record);
    await clock.run('queue', () => markInbox(pool, ids, 'processed'));
    metrics.stageSeconds.observe({ stage: 'end-to-end' }, seconds(started));
    metrics.jobs.inc({ state: 'completed' });
    log.info({ notifications: ids.length, written: summary.written, skipped: summary.skipped.length }, 'patient assessed');
    return summary;
  } catch (err) {
    const permanent = err instanceof PermanentJobError;
    const exhausted = job.retryCount >= job.retryLimit;
    if (!permanent && !exhausted) {
      metrics.jobs.inc({ state: 'retry' });
      log.warn({ err: { name: (err as Error).name, message: (err as Error).message }, attempt: job.retryCount }, 'assessment failed; will retry');
      throw err;
    }
    const reason = permanent
      ? err.outcome
      : outcome('transient', `gave up after ${job.retryCount + 1} attempts: ${(err as Error).message}`);
    await recordDeadLetter(pool, { jobId: job.id, queue: 'assess-patient', patientId: job.data.patientId, reason, traceId: job.data.traceId });
    await markInbox(pool, ids, 'failed', reason);
    metrics.deadLetters.inc();
    metrics.jobs.inc({ state: 'dead-letter' });
    log.error({ err: { name: (err as Error).name, message: (err as Error).message } }, 'assessment dead-lettered');
    return { notifications: ids.length, written: 0, skipped: [], status: 'dead-letter' };
  }
}
