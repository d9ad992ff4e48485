import { resolve } from 'node:path';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { PatientRecord } from '../contracts/patient-record.js';
import type { Config } from '../config/config-schema.js';
import type { Metrics } from '../observability/create-metrics.js';
import type { SimilarCasesFinder } from '../contracts/similar-cases-finder.js';
import { similarCasesOf } from './visible-neighbours.js';
import { loadSimilarCases, type SimilarCases } from './similar-cases-plugin.js';

/**
 * Opens similar-case retrieval as configured (`SIMILAR_CASES_MODEL` in `MODELS_DIR`), or
 * `undefined` when it is `off`. A model that fails its checks stops start-up, like a risk model.
 */
export async function openSimilarCases(config: Config, pool: Pool, repoRoot: string, logger: Logger): Promise<SimilarCases | undefined> {
  if (config.SIMILAR_CASES_MODEL === 'off') return undefined;
  const [name, version] = config.SIMILAR_CASES_MODEL.split('@') as [string, string];
  return loadSimilarCases({
    pool,
    modelDir: resolve(repoRoot, config.MODELS_DIR, name, version),
    executionProviders: [...config.EXECUTION_PROVIDERS],
    logger,
  });
}

/**
 * The step run after a patient's assessments are written: add the patient to the similar-case
 * index. Indexing is a by-product, so a failure is counted and logged (without patient data) and
 * never fails the assessment job.
 */
export function indexSimilarCase(similarCases: SimilarCases, metrics: Metrics, logger: Logger): (record: PatientRecord) => Promise<void> {
  return async (record) => {
    try {
      metrics.similarCasesIndexed.inc({ outcome: await similarCases.indexRecord(record) });
    } catch (err) {
      metrics.similarCasesIndexed.inc({ outcome: 'failed' });
      // The error's name only: driver and runtime messages may quote the row (a patient reference).
      logger.warn({ err: { name: (err as Error).name } }, 'similar-case indexing failed');
    }
  };
}

/** How many similar past cases the review app shows. */
const REVIEW_SIMILAR_CASES = 5;

/** The review app's similar-case finder: the patient's nearest past cases the clinician may read. */
export function reviewSimilarCases(similarCases: SimilarCases): SimilarCasesFinder {
  return async (patientRef, read) => {
    const found = await similarCasesOf(similarCases.index, patientRef, REVIEW_SIMILAR_CASES, read);
    return found?.map(({ hit, reportRef, report }) => ({ similarity: hit.similarity, report, reportReference: reportRef }));
  };
}
