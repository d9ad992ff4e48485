import ort from 'onnxruntime-node';
import type { InferenceLogger } from './inference-logger.js';

/** Session tuning shared by the registry and the workers. */
export interface SessionTuning {
  /** ORT intra-op threads per session; 0 lets ORT choose (one per core). */
  intraOpThreads?: number;
}

/** A session with the execution provider it ended up on. */
export interface OpenedSession {
  session: ort.InferenceSession;
  executionProvider: string;
}

/**
 * Opens ONNX Runtime sessions trying execution providers in the configured order (`['cuda', 'cpu']`).
 * Each provider is tried alone, so the one recorded is the one that really serves the model (ORT
 * would otherwise silently place the graph on the next provider in the list). A provider that fails
 * is logged once, with ORT's reason, and skipped for every later session from this factory: on a
 * CPU-only machine the CUDA provider library is missing and ORT throws at session creation.
 */
export interface SessionFactory {
  open(modelPath: string): Promise<OpenedSession>;
  /** Opens on exactly this provider (workers reuse the one the registry resolved). */
  openOn(modelPath: string, executionProvider: string): Promise<ort.InferenceSession>;
  /** Providers that failed, with the reason, in the order they failed. */
  failedProviders(): ReadonlyMap<string, string>;
}

/**
 * Opens one session on exactly one execution provider with the server's session options. Every
 * session in the process is opened here: the factory below (registry verification, evaluation)
 * and the inference workers, so a graph is optimised and run the same way wherever it runs.
 */
export function openSessionOn(
  modelPath: string,
  executionProvider: string,
  tuning: SessionTuning = {},
): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, {
    executionProviders: [executionProvider],
    graphOptimizationLevel: 'all',
    ...(tuning.intraOpThreads ? { intraOpNumThreads: tuning.intraOpThreads } : {}),
    // ORT logs provider-load failures natively at ERROR; the factory logs them itself, once.
    logSeverityLevel: 3,
  });
}

/** Creates a {@link SessionFactory} for a provider list from configuration. */
export function createSessionFactory(
  providers: readonly string[],
  logger: InferenceLogger,
  tuning: SessionTuning = {},
): SessionFactory {
  if (providers.length === 0) throw new Error('at least one execution provider must be configured');
  const failed = new Map<string, string>();
  const openOn = (modelPath: string, executionProvider: string): Promise<ort.InferenceSession> =>
    openSessionOn(modelPath, executionProvider, tuning);
  return {
    openOn,
    failedProviders: () => failed,
    async open(modelPath) {
      let lastError: unknown;
      for (const provider of providers) {
        if (failed.has(provider)) continue;
        try {
          return { session: await openOn(modelPath, provider), executionProvider: provider };
        } catch (error) {
          lastError = error;
          const reason = error instanceof Error ? error.message : String(error);
          failed.set(provider, reason);
          logger.warn(
            { executionProvider: provider, reason },
            'execution provider unavailable; falling back to the next configured provider',
          );
        }
      }
      const tried = [...failed.entries()].map(([p, r]) => `${p}: ${r}`).join('; ');
      throw new Error(`no configured execution provider could open the model (${tried})`, {
        cause: lastError,
      });
    },
  };
}
