import type { AssessmentResult } from '../contracts/assessment-result.js';
import type { ImageGeometry, SourceImageInstance } from '../contracts/localisation.js';
import type { ModelManifest, OutcomeSpec } from '../contracts/manifest-types.js';
import { sourceRegion } from '../raster/map-to-source.js';
import { mapValidity } from './localisation-validity.js';

/** A SNOMED CT concept (code and its preferred term). */
export interface SnomedConcept {
  code: string;
  display: string;
}

/**
 * The image finding whose place a model's map for an outcome shows, by the outcome's SNOMED CT
 * code: acute heart failure shows on a chest radiograph as an enlarged cardiac silhouette
 * (8186001 Cardiomegaly), pneumonia as consolidation (95436008 Lung consolidation). An outcome
 * with no image finding here (atrial fibrillation) is not localised, whatever its map says.
 */
export const IMAGE_FINDING_BY_OUTCOME: Readonly<Record<string, SnomedConcept>> = {
  '56675007': { code: '8186001', display: 'Cardiomegaly' },
  '233604007': { code: '95436008', display: 'Lung consolidation' },
};

/** Qualitative risks for which a finding is localised: the model calls it (≥ moderate). */
const CALLED: ReadonlySet<string> = new Set(['moderate', 'high', 'certain']);

/** Share of a map's range a source pixel must reach to be in the segment (the usual CAM ½). */
export const REGION_FRACTION = 0.5;

/** One finding placed on the source image: what the SEG segment and the imaging-finding Observation say. */
export interface LocalisedFinding {
  outcomeIndex: number;
  outcome: OutcomeSpec['coding'];
  finding: SnomedConcept;
  probability: number;
  /** 1-based segment number in the SEG. */
  segmentNumber: number;
  /** One byte per source pixel (0/1), row-major over the source frame. */
  mask: Uint8Array;
  marked: number;
}

/** The findings of a localised assessment, on the source grid, with where they go. */
export interface LocalisedAssessment {
  source: SourceImageInstance;
  geometry: ImageGeometry;
  findings: LocalisedFinding[];
}

/**
 * What the write-back does with an assessment's maps: the findings it shows, and the findings it
 * withholds because their map is not validated (said in the RiskAssessment, reason `not-validated`).
 */
export interface LocalisationDecision {
  localised?: LocalisedAssessment;
  notValidated?: { reason: 'not-validated'; detail: string };
}

/**
 * The findings to localise (issue #20): outcomes the model calls (qualitative risk moderate or
 * above — a map of an outcome it does not call points at whatever looks least normal, which is no
 * finding), that have an image finding ({@link IMAGE_FINDING_BY_OUTCOME}), a map, and a map the
 * manifest's held-out evaluation validates for that finding ({@link mapValidity} against
 * `minPointingGame`, the LOCALISATION_MIN_POINTING_GAME setting); each map mapped back to the
 * source pixel grid and thresholded at {@link REGION_FRACTION} of its range. An empty region (a
 * flat map) is dropped. No `localised` when nothing is shown, including when the maps could not be
 * mapped back (`localisation.notMapped`, said in the RiskAssessment instead); `notValidated` names
 * every called finding whose map failed the gate.
 */
export function localisedFindings(
  result: AssessmentResult,
  manifest: ModelManifest,
  minPointingGame: number,
): LocalisationDecision {
  const loc = result.localisation;
  if (!loc?.source || !loc.geometry || loc.notMapped) return {};
  const findings: LocalisedFinding[] = [];
  const withheld: string[] = [];
  for (const prediction of result.predictions) {
    if (!CALLED.has(prediction.qualitativeRisk)) continue;
    const spec = manifest.outcomes.find((o) => o.index === prediction.outcomeIndex);
    if (!spec || spec.coding.system !== 'http://snomed.info/sct') continue;
    const finding = IMAGE_FINDING_BY_OUTCOME[spec.coding.code];
    const map = loc.maps.find((m) => m.outcomeIndex === prediction.outcomeIndex);
    if (!finding || !map) continue;
    const validity = mapValidity(manifest, spec.coding.code, finding, minPointingGame);
    if (!validity.valid) {
      withheld.push(validity.detail);
      continue;
    }
    const { mask, marked } = sourceRegion(map, loc.geometry, REGION_FRACTION);
    if (marked === 0) continue;
    findings.push({
      outcomeIndex: prediction.outcomeIndex,
      outcome: spec.coding,
      finding,
      probability: prediction.probability,
      segmentNumber: findings.length + 1,
      mask,
      marked,
    });
  }
  return {
    ...(findings.length > 0 ? { localised: { source: loc.source, geometry: loc.geometry, findings } } : {}),
    ...(withheld.length > 0
      ? { notValidated: { reason: 'not-validated', detail: withheld.join('; ') } }
      : {}),
  };
}

/**
 * The result as written back: a map the gate withheld is named in the RiskAssessment like any map
 * not shown (`localisation.notMapped`, extension localisation-not-shown, note and narrative).
 */
export function withLocalisationDecision(
  result: AssessmentResult,
  decision: LocalisationDecision,
): AssessmentResult {
  if (!decision.notValidated || !result.localisation) return result;
  return { ...result, localisation: { ...result.localisation, notMapped: decision.notValidated } };
}
