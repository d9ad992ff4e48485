import type { InferenceOutput, NotAssessedOutcome } from '../contracts/assessment-result.js';

/**
 * The output written when every outcome abstains: inference is not run at all (nothing it could
 * say would be written), so no execution provider did any work.
 */
export function abstainedOutput(): InferenceOutput {
  return { predictions: [], modalityContributions: [], featureContributions: [], executionProvider: 'none' };
}

/**
 * Drops the abstained outcomes from an inference output: their probabilities, and their deltas in
 * every modality and feature contribution (deltas are aligned with `predictions`), so nothing
 * downstream can show a number for an outcome the model was not allowed to answer (issue #17).
 */
export function withoutAbstainedOutcomes(output: InferenceOutput, notAssessed: readonly NotAssessedOutcome[]): InferenceOutput {
  if (notAssessed.length === 0) return output;
  const dropped = new Set(notAssessed.map((n) => n.outcomeIndex));
  const keep = output.predictions.map((p) => !dropped.has(p.outcomeIndex));
  const kept = <T>(values: readonly T[]): T[] => values.filter((_, i) => keep[i] ?? false);
  return {
    ...output,
    predictions: kept(output.predictions),
    modalityContributions: output.modalityContributions.map((c) => ({ ...c, delta: kept(c.delta) })),
    featureContributions: output.featureContributions.map((c) => ({ ...c, delta: kept(c.delta) })),
  };
}
