import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { PatientResources } from '../assembly/fetch-patient-resources.js';
import type { PatientRecord } from '../contracts/patient-record.js';
import type { FetchLike } from '../contracts/fetch-like.js';
import { PermanentJobError } from '../jobs/job-errors.js';
import type { AssessPatientDeps } from '../pipeline/stage-types.js';
import type { ServedModel } from '../contracts/served-model.js';
import type { ExportParameters } from './bulk-data-client.js';
import { BulkDataError, kickOffExport, kickOffUrl, pollExport, streamNdjson } from './bulk-data-client.js';
import {
  createRun,
  findUnfinishedRun,
  finishPatient,
  openFileLoader,
  patientCounts,
  pendingPatients,
  reasonCounts,
  resourcesOf,
  retryFailedPatients,
  saveManifest,
  saveStatusUrl,
  setRunState,
  unloadedFiles,
} from '../store/backfill-repository.js';
import type { PatientCounts } from '../store/backfill-repository.js';
import { exportedPatientId, groupPatientResources } from './group-patient-resources.js';
import type { BackfillProgress } from './progress-reporter.js';
import { scorePatient } from '../pipeline/score-patient.js';

/** Everything a backfill needs, passed in. */
export interface BackfillDeps {
  pool: Pool;
  logger: Logger;
  /** The EHR fetch (allow-listed, with SMART Backend Services or bearer auth). */
  fetch: FetchLike;
  models: ServedModel[];
  /** Builds a record from exported resources (window filters, DICOMweb image fetches). */
  assemble: (resources: PatientResources, asOf: Date) => Promise<PatientRecord>;
  predict: AssessPatientDeps['predict'];
  write: AssessPatientDeps['write'];
  locate: AssessPatientDeps['locate'];
  /** Runs after a patient's assessments are written (similar-case indexing); must not throw. */
  afterScoring?: AssessPatientDeps['afterScoring'];
  sleep?: (ms: number) => Promise<void>;
}

/** What to back-fill and how hard to push the EHR. */
export interface BackfillOptions {
  fhirBaseUrl: string;
  export: ExportParameters;
  /** Patients read from Postgres and scored per batch (default 256). */
  batchSize?: number;
  /** Patients in flight at once: bounds concurrent write-back transactions (default 8). */
  concurrency?: number;
  /** Attempts per patient on transient errors before it is recorded as failed (default 3). */
  attempts?: number;
  onProgress?: (progress: BackfillProgress) => void;
}

/** The end-of-run summary (no patient identifiers). */
export interface BackfillSummary {
  runId: string;
  resumed: boolean;
  counts: PatientCounts;
  assessmentsWritten: number;
  reasons: Array<{ state: string; reason: string; patients: number }>;
  scoringSeconds: number;
  patientsPerSecond: number;
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * Back-fills every patient of a Bulk Data export: kick-off → poll → stream each NDJSON file into
 * Postgres (one transaction per file) → score pending patients in batches with bounded
 * concurrency, recording each patient's outcome as soon as it is written. Every step is a
 * checkpoint in the database, so a process killed at any point and started again with the same
 * parameters resumes the same run: it polls the same export, loads only files not yet loaded,
 * and scores only patients still pending (a patient interrupted mid-write is scored again, and
 * the write-back's conditional create on the assessment identity makes that a no-op).
 */
export async function runBackfill(deps: BackfillDeps, options: BackfillOptions): Promise<BackfillSummary> {
  const { pool, logger } = deps;
  const url = kickOffUrl(options.fhirBaseUrl, options.export);
  const existing = await findUnfinishedRun(pool, url);
  const run = existing ?? (await createRun(pool, randomUUID(), url));
  const log = logger.child({ backfillRun: run.id });
  log.info({ resumed: Boolean(existing), state: run.state }, 'backfill run');

  // 1. Export (resume: poll the saved status URL; a server that forgot it gets a new kick-off).
  let manifest = run.manifest;
  if (!manifest) {
    options.onProgress?.({ phase: 'exporting', done: 0, total: 1 });
    const poll = (statusUrl: string) => pollExport(deps.fetch, statusUrl, { sleep: deps.sleep });
    if (run.statusUrl) {
      try {
        manifest = await poll(run.statusUrl);
      } catch (err) {
        if (!(err instanceof BulkDataError) || (err.status !== 404 && err.status !== 410)) throw err;
        log.warn('saved export status URL is gone; exporting again');
      }
    }
    if (!manifest) {
      const statusUrl = await kickOffExport(deps.fetch, url);
      await saveStatusUrl(pool, run.id, statusUrl);
      manifest = await poll(statusUrl);
    }
    await saveManifest(pool, run.id, manifest);
    options.onProgress?.({ phase: 'exporting', done: 1, total: 1 });
    // The export's files are downloaded below; the server may now delete the job (IG: DELETE
    // after download). Kept until the run is done so a restart can still fetch unloaded files.
  }
  const asOf = new Date(manifest.transactionTime);

  // 2. Load NDJSON files, streamed line by line, one transaction per file.
  const files = await unloadedFiles(pool, run.id);
  const totalFiles = manifest.output.length;
  let loadedFiles = totalFiles - files.length;
  for (const file of files) {
    options.onProgress?.({ phase: 'loading', done: loadedFiles, total: totalFiles });
    const loader = await openFileLoader(pool, run.id, file.index);
    try {
      for await (const resource of streamNdjson(deps.fetch, file.url)) {
        await loader.add(exportedPatientId(resource), resource);
      }
      await loader.commit();
    } catch (err) {
      await loader.rollback();
      throw err;
    }
    loadedFiles++;
  }
  options.onProgress?.({ phase: 'loading', done: loadedFiles, total: totalFiles });
  await setRunState(pool, run.id, 'scoring');

  // 3. Score pending patients (and, on a re-run, the ones that failed last time).
  const retried = await retryFailedPatients(pool, run.id);
  if (retried > 0) log.info({ retried }, 'retrying patients that failed before');
  const start = await patientCounts(pool, run.id);
  const total = start.pending + start.scored + start.skipped + start.failed;
  let done = total - start.pending;
  let scoredNow = 0;
  let written = 0;
  const traceId = `backfill-${run.id}`;
  const started = process.hrtime.bigint();
  const batchSize = options.batchSize ?? 256;
  const attempts = options.attempts ?? 3;
  options.onProgress?.({ phase: 'scoring', done, total });
  for (;;) {
    const ids = await pendingPatients(pool, run.id, batchSize);
    if (ids.length === 0) break;
    const grouped = groupPatientResources(await resourcesOf(pool, run.id, ids));
    await mapLimit(ids, options.concurrency ?? 8, async (patientId) => {
      const resources = grouped.get(patientId);
      if (!resources) {
        await finishPatient(pool, run.id, patientId, 'skipped', 0, 'Patient resource missing from the export');
      } else {
        for (let attempt = 1; ; attempt++) {
          try {
            const record = await deps.assemble(resources, asOf);
            const score = await scorePatient(record, { ...deps, db: pool, traceId });
            await deps.afterScoring?.(record);
            written += score.written;
            if (score.written > 0) await finishPatient(pool, run.id, patientId, 'scored', score.written);
            else {
              const reason = score.skipped.map((s) => `${s.model} ${s.reason}`).join('; ') || 'no active model';
              await finishPatient(pool, run.id, patientId, 'skipped', 0, reason);
            }
            break;
          } catch (err) {
            const permanent = err instanceof PermanentJobError;
            if (!permanent && attempt < attempts) {
              await (deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(500 * 2 ** attempt);
              continue;
            }
            const reason = permanent ? `write-back refused: ${err.message}` : `${(err as Error).name}: ${(err as Error).message}`;
            await finishPatient(pool, run.id, patientId, 'failed', 0, reason.slice(0, 500));
            break;
          }
        }
      }
      done++;
      scoredNow++;
      options.onProgress?.({ phase: 'scoring', done, total });
    });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await setRunState(pool, run.id, 'done');
  const counts = await patientCounts(pool, run.id);
  const summary: BackfillSummary = {
    runId: run.id,
    resumed: Boolean(existing),
    counts,
    assessmentsWritten: written,
    reasons: await reasonCounts(pool, run.id),
    scoringSeconds: seconds,
    patientsPerSecond: seconds > 0 ? scoredNow / seconds : 0,
  };
  log.info({ counts, assessmentsWritten: written, patientsPerSecond: summary.patientsPerSecond }, 'backfill finished');
  return summary;
}
