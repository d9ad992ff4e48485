import type { Config } from '../config/config-schema.js';
import type { ManifestCoding, ModelManifest } from '../contracts/manifest-types.js';

/** Whether a model's map may be shown for one finding, and if not, why (manifest figures only). */
export type MapValidity = { valid: true } | { valid: false; detail: string };

/**
 * The minimum held-out figures a map must show before it is written (settings
 * LOCALISATION_MIN_POINTING_GAME and LOCALISATION_MIN_PRECISION).
 */
export interface LocalisationGate {
  minPointingGame: number;
  /** Finding maps only: lower 95 % bound of the presence call's precision. */
  minPrecision: number;
}

/** The gate the settings configure. */
export function localisationGate(
  config: Pick<Config, 'LOCALISATION_MIN_POINTING_GAME' | 'LOCALISATION_MIN_PRECISION'>,
): LocalisationGate {
  return {
    minPointingGame: config.LOCALISATION_MIN_POINTING_GAME,
    minPrecision: config.LOCALISATION_MIN_PRECISION,
  };
}

/** At most three decimals, no trailing zeros: 0.849 stays distinguishable from a 0.85 minimum. */
const f3 = (x: number): string => String(Number(x.toFixed(3)));

/**
 * The validity gate of a localisation map (issue #20): a map is shown for a finding — a DICOM SEG
 * in the PACS, where radiologists read, and an imaging-finding Observation — only when the
 * model's own held-out evaluation (`manifest.metrics.localisation`, the entry for that finding and
 * the outcome whose map it is, or no outcome for a finding map) says the map points at that
 * lesion: the pointing game's lower 95 % bound is at least `gate.minPointingGame` and its mean is
 * not below the anatomical-prior baseline (the same map for every image: a map that points worse
 * than where the lesion usually is adds nothing; one that points as well — the heart is where it
 * usually is — is not wrong). A finding map is shown when the model calls the finding, so its call
 * must also be right often enough: presence precision's lower 95 % bound at least
 * `gate.minPrecision`. A map without figures is not validated. A faithful map of a model that
 * does not localise still points somewhere, with the model's confidence: a confident wrong region.
 * The detail quotes the manifest's figures only, never patient values.
 */
export function mapValidity(
  manifest: ModelManifest,
  outcomeCode: string | undefined,
  finding: Pick<ManifestCoding, 'code' | 'display'>,
  gate: LocalisationGate,
): MapValidity {
  const evaluation = manifest.metrics?.localisation;
  const figures = evaluation?.lesions.find(
    (l) => l.finding.code === finding.code && l.outcome === outcomeCode,
  );
  if (!evaluation || !figures)
    return {
      valid: false,
      detail: `the ${finding.display} map has no localisation evaluation in the model's manifest (metrics.localisation), so it is not validated`,
    };
  const { mean, lower } = figures.pointingGame;
  const prior = figures.priorPointingGame.mean;
  const precision = figures.presence?.precision.lower;
  const failures = [
    ...(lower === null || lower < gate.minPointingGame
      ? [`lower 95 % bound ${lower === null ? 'unknown' : f3(lower)} < ${f3(gate.minPointingGame)}`]
      : []),
    ...(mean < prior ? [`below the anatomical prior's ${f3(prior)}`] : []),
    // A finding map is shown when the model calls the finding: a call that is often wrong puts a
    // region on films without the finding, however well the map points when it is there.
    ...(outcomeCode === undefined &&
    (precision === undefined || precision === null || precision < gate.minPrecision)
      ? [
          `presence precision's lower 95 % bound ${precision === undefined || precision === null ? 'unknown' : f3(precision)} < ${f3(gate.minPrecision)}`,
        ]
      : []),
  ];
  if (failures.length === 0) return { valid: true };
  const data = manifest.trainingData.synthetic ? 'held-out synthetic images' : 'held-out images';
  return {
    valid: false,
    detail:
      `the ${finding.display} map did not pass validation (pointing game ${f3(mean)}, ${failures.join(', ')}; ` +
      `${figures.images} ${data}, split ${evaluation.split})`,
  };
}
