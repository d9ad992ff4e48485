import type { Logger } from 'pino';
import { assembleFromResources } from '../assembly/assemble-patient.js';
import type { Config } from '../config/config-schema.js';
import type { FetchLike } from '../contracts/fetch-like.js';
import { assemblyWindows } from '../pipeline/pipeline-stages.js';
import { openRuntime } from '../runtime/open-runtime.js';
import type { Runtime } from '../runtime/open-runtime.js';
import type { BackfillDeps } from './run-backfill.js';

/** A backfill's process-wide resources, opened from configuration. */
export interface BackfillRuntime {
  deps: BackfillDeps;
  /** The runtime the backfill runs on (the same one `serve` opens). */
  runtime: Runtime;
  close(): Promise<void>;
}

/**
 * Opens what a backfill needs through the same composition root as `serve` ({@link openRuntime}):
 * the database (migrated), the active models and the inference engine, and the audited, traced
 * EHR fetch with its auth (SMART Backend Services or bearer), and binds the pipeline's own predict
 * and write stages, so a backfilled assessment is built and written exactly like a notified one,
 * and every EHR read it makes is in `ehr_audit` (issue #22).
 */
export async function openBackfillRuntime(config: Config, logger: Logger, fetch?: FetchLike): Promise<BackfillRuntime> {
  const runtime = await openRuntime({ config, logger, loadModels: true, ...(fetch ? { fetch } : {}) });
  const { serving, outbound } = runtime;
  if (!serving) {
    await runtime.close();
    throw new Error('backfill needs the models loaded');
  }
  const { models, pipeline } = serving;
  const manifests = models.map((m) => m.manifest);
  const imageModalities = [...new Set(manifests.flatMap((m) => m.preprocessing.image?.modalities ?? []))];
  const deps: BackfillDeps = {
    pool: runtime.pool,
    logger,
    fetch: outbound.fetch,
    models,
    predict: pipeline.predict,
    write: pipeline.write,
    locate: pipeline.locate,
    ...(pipeline.afterScoring ? { afterScoring: pipeline.afterScoring } : {}),
    assemble: (resources, asOf) =>
      assembleFromResources(resources, {
        windows: assemblyWindows(manifests),
        image: { modalities: imageModalities },
        dicom: {
          fetch: outbound.dicomFetch,
          allowList: outbound.allowList,
          defaultBaseUrl: config.DICOMWEB_BASE_URL,
          maxBytes: 64 * 1024 * 1024,
        },
        asOf,
      }),
  };
  return { deps, runtime, close: () => runtime.close() };
}
