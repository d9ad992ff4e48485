import { openBackfillRuntime } from '../backfill/backfill-runtime.js';
import type { ExportParameters } from '../backfill/bulk-data-client.js';
import { createProgressReporter, formatDuration } from '../backfill/progress-reporter.js';
import { runBackfill } from '../backfill/run-backfill.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../observability/create-logger.js';

/** Parsed `fhir-fusion backfill` options. */
export interface BackfillCommandOptions {
  export: ExportParameters;
  batchSize: number;
  concurrency: number;
}

/**
 * `fhir-fusion backfill`: a first assessment for every patient of a FHIR Bulk Data export of the
 * configured EHR (FHIR_BASE_URL, same auth as `serve`). Run it again after an interruption: it
 * resumes the same run. Progress goes to stderr (a bar on a terminal), the summary to stdout.
 */
export async function backfillCommand(options: BackfillCommandOptions): Promise<number> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.LOG_LEVEL });
  const runtime = await openBackfillRuntime(config, logger);
  const reporter = createProgressReporter(process.stderr);
  try {
    const summary = await runBackfill(runtime.deps, {
      fhirBaseUrl: config.FHIR_BASE_URL,
      export: options.export,
      batchSize: options.batchSize,
      concurrency: options.concurrency,
      onProgress: (p) => reporter.update(p),
    });
    reporter.finish();
    const { counts } = summary;
    console.log(
      `backfill ${summary.resumed ? 'resumed and ' : ''}finished: ${counts.scored} scored, ${counts.skipped} skipped, ` +
        `${counts.failed} failed, ${summary.assessmentsWritten} assessments written this run ` +
        `(${summary.patientsPerSecond.toFixed(1)} patients/s over ${formatDuration(summary.scoringSeconds)})`,
    );
    for (const r of summary.reasons) console.log(`  ${r.state} ${r.patients}: ${r.reason}`);
    return counts.failed > 0 ? 1 : 0;
  } finally {
    await runtime.close();
  }
}
