import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import type { PatientRecord } from '../contracts/patient-record.js';
import type { InferenceLogger } from '../inference/runtime/inference-logger.js';
import { createUcumConverter } from '../preprocess/tabular/unit-conversion.js';
import { describeEmbeddingModel, type EmbeddingModelResources } from './ai-transparency-label.js';
import { caseFromRecord, type CaseSkipReason } from './case-from-record.js';
import { createCaseIndex, type CaseIndex } from './case-index.js';
import type { FetchLike } from '../contracts/fetch-like.js';
import { createRedirectGuardedFetch } from '../fhir/outbound-fetch.js';
import { loadEmbeddingModel, type EmbeddingModel } from './embedding-model.js';
import { indexCase } from './index-case.js';
import type { CallerTokenVerifier } from '../security/caller-token.js';
import { similarCasesRoutes } from './similar-cases-routes.js';

/** The loaded similar-case machinery: the verified model, the case index, and indexing. */
export interface SimilarCases {
  model: EmbeddingModel;
  /** The model's Device and card (AI Transparency IG), included in every similar-case answer. */
  modelResources: EmbeddingModelResources;
  index: CaseIndex;
  /**
   * Adds an assessed patient's ECG (and ECG report) to the index so later patients can find it;
   * resolves with what happened. Only references and embeddings are stored.
   */
  indexRecord(record: PatientRecord): Promise<'indexed' | CaseSkipReason>;
  close(): Promise<void>;
}

/** Options for {@link loadSimilarCases}. */
export interface LoadSimilarCasesOptions {
  pool: Pool;
  /** Version folder of the embedding model (holds `embedding-manifest.json`). */
  modelDir: string;
  executionProviders?: readonly string[];
  /** Told once of an execution provider that could not be loaded. */
  logger?: InferenceLogger;
}

/**
 * Loads and verifies the ECG ↔ report model (sha256 of every file, graph signatures, golden
 * tensors; served from inference worker threads) and rebuilds
 * the HNSW graphs from Postgres. The pipeline and the backfill index assessed patients through
 * it; {@link similarCasesPlugin} answers queries with it.
 */
export async function loadSimilarCases(options: LoadSimilarCasesOptions): Promise<SimilarCases> {
  const model = await loadEmbeddingModel(options.modelDir, {
    ...(options.executionProviders ? { executionProviders: options.executionProviders } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  // card.md's sha256 was checked with every other file when the model loaded.
  const cardMarkdown = await readFile(join(options.modelDir, 'card.md'), 'utf8');
  const modelResources = describeEmbeddingModel(model.manifest, cardMarkdown, new Date().toISOString());
  const index = createCaseIndex({ pool: options.pool, model: model.key, dimensions: model.dimension });
  await index.rebuild();
  const convertUnit = createUcumConverter();
  return {
    model,
    modelResources,
    index,
    async indexRecord(record) {
      const entry = caseFromRecord(record, model.manifest, convertUnit);
      if (!entry.ok) return entry.reason;
      await indexCase(model, index, entry.value);
      return 'indexed';
    },
    close: () => model.close(),
  };
}

/** Options for {@link similarCasesPlugin}. */
export interface SimilarCasesPluginOptions {
  similarCases: SimilarCases;
  fhirBaseUrl: string;
  fetch?: FetchLike;
  /** Checks callers' bearer tokens (see {@link SimilarCasesRoutesOptions.verifyToken}). */
  verifyToken: CallerTokenVerifier;
}

/** Registers the `$similar-cases` / `$similar-ecgs` operations and decorates `fastify.similarCases`. */
export async function similarCasesPlugin(fastify: FastifyInstance, options: SimilarCasesPluginOptions): Promise<void> {
  const { similarCases } = options;
  fastify.decorate('similarCases', similarCases);
  await fastify.register(similarCasesRoutes, {
    index: similarCases.index,
    model: similarCases.model,
    modelResources: similarCases.modelResources,
    fhirBaseUrl: options.fhirBaseUrl,
    verifyToken: options.verifyToken,
    // Reads go to the configured EHR only: a redirect to another origin is refused, so the caller's
    // bearer token never leaves for a host a redirect names.
    fetch: createRedirectGuardedFetch({ fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)) }),
  });
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Similar-case retrieval: the embedding model and the past-case index. */
    similarCases?: SimilarCases;
  }
}
