import type { AssessmentResult } from '../../../src/contracts/assessment-result.js';
import type { OutcomeMap } from '../../../src/contracts/localisation.js';
import type { LocalisationLesionMetrics, ModelManifest } from '../../../src/contracts/manifest-types.js';
import { modelImageGeometry } from '../../../src/preprocess/imaging/to-model-image.js';
import type { LocalisationGate } from '../../../src/writeback/localisation-validity.js';
import { sampleResult } from './assessment-fixture.js';

/** An 8×8 map over a 64×64 model grid with its maximum on cell (x, y). */
export function peakMap(outcomeIndex: number, x: number, y: number): OutcomeMap {
  const values = new Float32Array(64).fill(-1);
  values[y * 8 + x] = 3;
  return { outcomeIndex, width: 8, height: 8, values };
}

/**
 * The sample result with an image and localisation maps: heart failure (outcome 0, `high`) peaks
 * left of centre, pneumonia (1, `low`) and atrial fibrillation (2, `moderate`, no image finding)
 * have maps too but are not localised. The source is a 128×96 frame in a 64×64 model grid.
 */
export function localisedResult(overrides: Partial<AssessmentResult> = {}): AssessmentResult {
  const base = sampleResult('pat-1');
  return {
    ...base,
    basis: [...base.basis, { resourceType: 'ImagingStudy', id: 'img-1', versionId: '2' }],
    missing: base.missing.filter((m) => m.modality !== 'image'),
    localisation: {
      maps: [peakMap(0, 2, 4), peakMap(1, 6, 4), peakMap(2, 4, 4)],
      source: {
        studyInstanceUid: '2.25.101',
        seriesInstanceUid: '2.25.102',
        sopInstanceUid: '2.25.103',
        sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
        frameNumber: 1,
        studyElements: { '00100020': { vr: 'LO', Value: ['SYN-1'] } },
        imagingStudy: { resourceType: 'ImagingStudy', id: 'img-1', versionId: '2' },
      },
      geometry: modelImageGeometry(128, 96, [64, 64]),
    },
    ...overrides,
  };
}

/** The gate's defaults (LOCALISATION_MIN_POINTING_GAME, LOCALISATION_MIN_PRECISION). */
export const GATE: LocalisationGate = { minPointingGame: 0.85, minPrecision: 0.8 };

/** One lesion's held-out figures as `models:evaluate` writes them; pointing game as given. */
export function lesionFigures(
  lesion: string,
  finding: { code: string; display: string },
  outcome: string,
  pointing: { mean: number; lower: number | null; upper: number | null },
  prior = 0.5,
): LocalisationLesionMetrics {
  return {
    lesion,
    finding: { system: 'http://snomed.info/sct', ...finding },
    outcome,
    images: 300,
    pointingGame: pointing,
    iou: { mean: 0.6, lower: 0.55, upper: 0.65 },
    priorPointingGame: { mean: prior, lower: prior - 0.05, upper: prior + 0.05 },
  };
}

/**
 * The manifest with a localisation evaluation whose maps pass the gate (pointing game 0.95
 * [0.92, 0.97] against a prior of 0.5) for both image findings — or the `lesions` given.
 */
export function validatedManifest(
  manifest: ModelManifest,
  lesions: LocalisationLesionMetrics[] = [
    lesionFigures('cardiomegaly', { code: '8186001', display: 'Cardiomegaly' }, '56675007', {
      mean: 0.95,
      lower: 0.92,
      upper: 0.97,
    }),
    lesionFigures('consolidation', { code: '95436008', display: 'Lung consolidation' }, '233604007', {
      mean: 0.95,
      lower: 0.92,
      upper: 0.97,
    }),
  ],
): ModelManifest {
  return { ...manifest, metrics: { ...manifest.metrics, localisation: { split: 'test', lesions } } };
}
