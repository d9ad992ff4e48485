import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { createCaseIndex, type CaseIndex } from './case-index.js';
import type { FetchLike } from './ehr-reader.js';
import { loadEmbeddingModel, type EmbeddingModel } from './embedding-model.js';
import { similarCasesRoutes } from './similar-cases-routes.js';

/** Options for {@link similarCasesPlugin}. */
export interface SimilarCasesPluginOptions {
  pool: Pool;
  /** Version folder of the embedding model (holds `embedding-manifest.json`). */
  modelDir: string;
  fhirBaseUrl: string;
  fetch?: FetchLike;
  executionProviders?: readonly string[];
}

/** What the plugin decorates the instance with, for indexing after an assessment. */
export interface SimilarCases {
  model: EmbeddingModel;
  index: CaseIndex;
}

/**
 * Loads and verifies the ECG ↔ report model, rebuilds the HNSW graphs from Postgres and registers
 * the `$similar-cases` / `$similar-ecgs` operations. Decorates `fastify.similarCases`.
 */
export async function similarCasesPlugin(fastify: FastifyInstance, options: SimilarCasesPluginOptions): Promise<void> {
  const model = await loadEmbeddingModel(resolve(options.modelDir), options.executionProviders ?? ['cpu']);
  const index = createCaseIndex({ pool: options.pool, model: model.key, dimensions: model.dimension });
  await index.rebuild();
  fastify.addHook('onClose', async () => model.close());
  const similarCases: SimilarCases = { model, index };
  fastify.decorate('similarCases', similarCases);
  await fastify.register(similarCasesRoutes, {
    index,
    model,
    fhirBaseUrl: options.fhirBaseUrl,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Similar-case retrieval: the embedding model and the past-case index. */
    similarCases?: SimilarCases;
  }
}
