import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openBackfillRuntime } from '../backfill/backfill-runtime.js';
import type { ExportParameters } from '../backfill/bulk-data-client.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../observability/create-logger.js';
import { runValidation } from '../validation/run-validation.js';
import { validationReportHtml } from '../validation/validation-report-html.js';

/** Parsed `fhir-fusion validate` options. */
export interface ValidateCommandOptions {
  export: Pick<ExportParameters, 'level' | 'groupId' | 'since'>;
  outcomes: string[];
  /** `name@version` of one active model; absent = every active model. */
  model?: string;
  windowDays: number;
  asOf?: Date;
  out: string;
}

/**
 * `fhir-fusion validate`: local validation on the configured EHR's own past patients (issue 19
 * point 5). Writes `report.json` and `report.html` into `--out`; writes nothing to the EHR.
 */
export async function validateCommand(options: ValidateCommandOptions): Promise<number> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.LOG_LEVEL });
  const runtime = await openBackfillRuntime(config, logger);
  try {
    const models = runtime.deps.models.filter(
      (m) => !options.model || `${m.manifest.name}@${m.manifest.version}` === options.model,
    );
    if (models.length === 0) {
      console.error(`--model ${options.model} is not an active model (ACTIVE_MODELS)`);
      return 2;
    }
    const report = await runValidation(
      { ...runtime.deps, models },
      {
        fhirBaseUrl: config.FHIR_BASE_URL,
        export: options.export,
        outcomes: options.outcomes,
        window: { days: options.windowDays },
        ...(options.asOf ? { asOf: options.asOf } : {}),
      },
    );
    await mkdir(options.out, { recursive: true });
    await writeFile(join(options.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(options.out, 'report.html'), validationReportHtml(report));
    for (const m of report.models) {
      for (const o of m.outcomes) {
        console.log(
          `${m.model} ${o.display}: n=${o.evaluated} positives=${o.overall.positives} ` +
            `AUROC=${o.overall.auroc.value ?? '—'} Brier=${o.overall.brier.value ?? '—'} ECE=${o.overall.ece.value ?? '—'}`,
        );
      }
    }
    console.log(`report: ${join(options.out, 'report.html')}`);
    return 0;
  } finally {
    await runtime.close();
  }
}
