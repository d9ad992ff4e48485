import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DrafterFactory } from '../pipeline/draft-description.js';
import { openDescriptionDrafter } from '../inference/runtime/description-drafter.js';
import type { InferenceLogger } from '../inference/runtime/inference-logger.js';

/** What {@link drafterFactory} needs from the process: where to log and which execution providers to try. */
export interface DrafterFactoryDeps {
  logger: InferenceLogger;
  /** `EXECUTION_PROVIDERS`, in order of preference. */
  executionProviders: readonly string[];
}

/**
 * The factory that builds `DESCRIPTION_MODEL` (issue #20) from a drafting model folder
 * (`<MODELS_DIR>/<name>/<version>/draft-manifest.json`, e.g. `report-drafter/1`): loads and
 * verifies it with {@link openDescriptionDrafter} (hashes, both graphs, golden tensors, a vocabulary
 * that cannot spell an identifier) and describes it for the Device, card and Provenance written
 * with each draft. The image the pipeline gives it is normalised with this model's own
 * `preprocessing.image`, not a risk model's. It reads images only (`usesContextTokens` is false
 * for the reference model); a model that reads report context also declares `text`.
 */
export function drafterFactory(deps: DrafterFactoryDeps): DrafterFactory {
  return async ({ name, version, modelsDir }) => {
    const dir = join(modelsDir, name, version);
    const drafter = await openDescriptionDrafter({
      dir,
      logger: deps.logger,
      executionProviders: deps.executionProviders,
    });
    try {
      const cardMarkdown = await readFile(join(dir, 'card.md'), 'utf8');
      const { manifest } = drafter;
      return {
        drafter,
        image: manifest.preprocessing.image,
        description: {
          manifest,
          cardMarkdown,
          modalities: manifest.decoding.usesContextTokens ? ['image', 'text'] : ['image'],
        },
        executionProvider: drafter.executionProvider,
      };
    } catch (err) {
      await drafter.close();
      throw err;
    }
  };
}
