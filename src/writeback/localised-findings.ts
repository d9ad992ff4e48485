import type { AssessmentResult } from '../contracts/assessment-result.js';
import type { ImageGeometry, SourceImageInstance } from '../contracts/localisation.js';
import type { ModelManifest, OutcomeSpec } from '../contracts/manifest-types.js';
import {
  HALF_MAX_PROBABILITY,
  HALF_RANGE,
  sourceRegion,
  type GridMap,
  type RegionRule,
} from '../raster/map-to-source.js';
import { mapValidity, type LocalisationGate } from './localisation-validity.js';

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

/** One finding placed on the source image: what the SEG segment and the imaging-finding Observation say. */
export interface LocalisedFinding {
  /**
   * What identifies the finding within its assessment: the outcome index for an outcome map
   * (`0`, `1`…), `sct-<code>` for a finding map — so the two never share an identity.
   */
  key: string;
  /** The outcome whose class-activation map placed it; absent for a finding map. */
  outcome?: OutcomeSpec['coding'];
  finding: SnomedConcept;
  /** The outcome's probability (outcome map) or the finding's presence probability (finding map). */
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
 * The findings to localise (issue #20). With a finding localiser (`loc.findingMaps`, trained on
 * lesion regions) those are the image findings the model calls (presence probability at or above
 * the finding's `imageFindings[].threshold`); the outcome maps are then not used. Otherwise the
 * outcomes the model calls (qualitative risk moderate or above — a map of an outcome it does not
 * call points at whatever looks least normal, which is no finding) that have an image finding
 * ({@link IMAGE_FINDING_BY_OUTCOME}) and a map. Either way only a map the manifest's held-out
 * evaluation validates for that finding ({@link mapValidity} against `gate`), mapped back to the
 * source pixel grid and thresholded (an outcome map at half its range, a finding map where the cell
 * probability reaches half the likeliest cell's: `HALF_RANGE`, `HALF_MAX_PROBABILITY`, the rules
 * `models:evaluate` scores the IoU with); an empty region (a flat map) is dropped. No `localised`
 * when nothing is shown, including when the maps could not be mapped back
 * (`localisation.notMapped`, said in the RiskAssessment instead); `notValidated` names every called
 * finding whose map failed the gate.
 */
export function localisedFindings(
  result: AssessmentResult,
  manifest: ModelManifest,
  gate: LocalisationGate,
): LocalisationDecision {
  const loc = result.localisation;
  if (!loc?.source || !loc.geometry || loc.notMapped) return {};
  const geometry = loc.geometry;
  const findings: LocalisedFinding[] = [];
  const withheld: string[] = [];
  const consider = (
    candidate: Omit<LocalisedFinding, 'segmentNumber' | 'mask' | 'marked'>,
    map: GridMap,
    rule: RegionRule,
  ) => {
    const validity = mapValidity(manifest, candidate.outcome?.code, candidate.finding, gate);
    if (!validity.valid) {
      withheld.push(validity.detail);
      return;
    }
    const { mask, marked } = sourceRegion(map, geometry, rule);
    if (marked > 0) findings.push({ ...candidate, segmentNumber: findings.length + 1, mask, marked });
  };
  if (loc.findingMaps?.length) {
    for (const map of loc.findingMaps) {
      const spec = manifest.imageFindings?.find((f) => f.index === map.findingIndex);
      if (!spec || spec.coding.system !== 'http://snomed.info/sct' || !(map.probability >= spec.threshold))
        continue;
      const finding = { code: spec.coding.code, display: spec.coding.display };
      consider(
        { key: `sct-${finding.code}`, finding, probability: map.probability },
        map,
        HALF_MAX_PROBABILITY,
      );
    }
  } else {
    for (const prediction of result.predictions) {
      if (!CALLED.has(prediction.qualitativeRisk)) continue;
      const spec = manifest.outcomes.find((o) => o.index === prediction.outcomeIndex);
      if (!spec || spec.coding.system !== 'http://snomed.info/sct') continue;
      const finding = IMAGE_FINDING_BY_OUTCOME[spec.coding.code];
      const map = loc.maps.find((m) => m.outcomeIndex === prediction.outcomeIndex);
      if (!finding || !map) continue;
      consider(
        {
          key: String(prediction.outcomeIndex),
          outcome: spec.coding,
          finding,
          probability: prediction.probability,
        },
        map,
        HALF_RANGE,
      );
    }
  }
  return {
    ...(findings.length > 0 ? { localised: { source: loc.source, geometry, findings } } : {}),
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
