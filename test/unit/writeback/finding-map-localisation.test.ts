import { createRequire } from 'node:module';
import type { Observation, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FindingMap } from '../../../src/contracts/localisation.js';
import type { LocalisationLesionMetrics, ModelManifest } from '../../../src/contracts/manifest-types.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { buildSegmentation } from '../../../src/writeback/build-segmentation.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { localisedFindings, withLocalisationDecision } from '../../../src/writeback/localised-findings.js';
import { createProfileValidator, type ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { referenceModel } from './assessment-fixture.js';
import { GATE, lesionFigures, localisedResult, peakMap } from './localisation-fixture.js';

const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMessage: { readFile(b: ArrayBuffer): { dict: Record<string, unknown> } };
    DicomMetaDictionary: { naturalizeDataset(d: Record<string, unknown>): Record<string, unknown> };
  };
};

/**
 * Issue 20, finding maps: a model with a finding localiser shows the findings it *calls*, each on
 * its own map, gated on its own figures (pointing game and the call's precision); its outcome maps
 * are then not used.
 */
const snomed = (code: string, display: string) => ({ system: 'http://snomed.info/sct', code, display });
const FINDINGS = [
  { index: 0, coding: snomed('8186001', 'Cardiomegaly'), threshold: 0.5 },
  { index: 1, coding: snomed('60046008', 'Pleural effusion'), threshold: 0.5 },
  { index: 2, coding: snomed('95436008', 'Lung consolidation'), threshold: 0.5 },
];

/** A finding's figures as models:evaluate writes them for a finding map: no outcome, presence precision as given. */
function findingFigures(
  lesion: string,
  coding: { code: string; display: string },
  precisionLower: number,
): LocalisationLesionMetrics {
  const { outcome: _none, ...figures } = lesionFigures(lesion, coding, 'unused', {
    mean: 0.97,
    lower: 0.94,
    upper: 0.99,
  });
  return {
    ...figures,
    presence: {
      threshold: 0.5,
      precision: { mean: Math.min(1, precisionLower + 0.04), lower: precisionLower, upper: 1 },
      recall: { mean: 0.9, lower: 0.85, upper: 0.95 },
    },
  };
}

function withFindings(lesions: LocalisationLesionMetrics[]): ModelManifest {
  const manifest = referenceModel().manifest;
  return {
    ...manifest,
    imageFindings: FINDINGS,
    metrics: { ...manifest.metrics, localisation: { split: 'test', lesions } },
  };
}

function findingMap(findingIndex: number, probability: number, x: number, y: number): FindingMap {
  const { values, width, height } = peakMap(0, x, y);
  return { findingIndex, probability, values, width, height };
}

/** The localised sample result (outcome maps included) with finding maps added. */
function resultWith(findingMaps: FindingMap[]) {
  const result = localisedResult();
  return { ...result, localisation: { ...result.localisation!, findingMaps } };
}

let validator: ProfileValidator;
beforeAll(() => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
});

describe('finding maps in the write-back (issue 20)', () => {
  const validated = withFindings([
    findingFigures('cardiomegaly', snomed('8186001', 'Cardiomegaly'), 0.9),
    findingFigures('effusion', snomed('60046008', 'Pleural effusion'), 0.9),
    findingFigures('consolidation', snomed('95436008', 'Lung consolidation'), 0.9),
  ]);

  it('shows the findings the model calls, on their own maps, and never an uncalled one or an outcome map', () => {
    const result = resultWith([
      findingMap(0, 0.93, 3, 5),
      findingMap(1, 0.2, 1, 7),
      findingMap(2, 0.61, 6, 2),
    ]);
    const { localised, notValidated } = localisedFindings(result, validated, GATE);
    expect(notValidated).toBeUndefined();
    expect(
      localised?.findings.map((f) => [f.key, f.finding.code, f.outcome, f.probability, f.segmentNumber]),
    ).toEqual([
      ['sct-8186001', '8186001', undefined, 0.93, 1],
      ['sct-95436008', '95436008', undefined, 0.61, 2],
    ]);
    // Consolidation's region is around its own peak (model cell (6, 2)), not the outcome maps'.
    const g = localised!.geometry;
    const consolidation = localised!.findings[1]!;
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < consolidation.mask.length; i++)
      if (consolidation.mask[i]) {
        sx += i % g.sourceWidth;
        sy += Math.floor(i / g.sourceWidth);
      }
    const cx = sx / consolidation.marked;
    const cy = sy / consolidation.marked;
    // Cell (6, 2) of an 8×8 map on the 64×64 grid is model pixel (52, 20); the 128×96 frame fills
    // rows 8…56 (scale 2): source (104, 24).
    expect(Math.abs(cx - 104)).toBeLessThan(8);
    expect(Math.abs(cy - 24)).toBeLessThan(8);
  });

  it('withholds a finding whose call is not precise enough, or whose figures are those of an outcome map', () => {
    const imprecise = withFindings([findingFigures('cardiomegaly', snomed('8186001', 'Cardiomegaly'), 0.7)]);
    const decision = localisedFindings(resultWith([findingMap(0, 0.9, 3, 5)]), imprecise, GATE);
    expect(decision.localised).toBeUndefined();
    expect(decision.notValidated?.detail).toMatch(/presence precision's lower 95 % bound 0\.7 < 0\.8/);

    const outcomeFigures = withFindings([
      lesionFigures('cardiomegaly', { code: '8186001', display: 'Cardiomegaly' }, '56675007', {
        mean: 0.95,
        lower: 0.92,
        upper: 0.97,
      }),
    ]);
    const other = localisedFindings(resultWith([findingMap(0, 0.9, 3, 5)]), outcomeFigures, GATE);
    expect(other.localised).toBeUndefined();
    expect(other.notValidated?.detail).toMatch(/no localisation evaluation/);
  });

  it('writes the finding as a valid FusionImagingFinding and a SEG segment that names the finding, not an outcome', () => {
    const result = resultWith([findingMap(0, 0.93, 3, 5)]);
    const decision = localisedFindings(result, validated, GATE);
    const bundle = buildAssessmentBundle({
      result: withLocalisationDecision(result, decision),
      manifest: validated,
      cardMarkdown: referenceModel().cardMarkdown,
      softwareVersion: 'fhir-fusion test',
      identifierSystem: 'urn:test',
      localised: decision.localised!,
    });
    const observations = (bundle.entry ?? [])
      .map((e) => e.resource as Resource)
      .filter((r): r is Observation => r.resourceType === 'Observation');
    expect(observations).toHaveLength(1);
    expect(validator.validate(observations[0]!)).toBeUndefined();
    expect(observations[0]!.identifier?.[0]?.value).toMatch(/\/finding\/sct-8186001$/);
    expect(observations[0]!.note?.[0]?.text).toMatch(/located Cardiomegaly \(probability present 0\.93\)/);
    const { bytes } = buildSegmentation({
      localised: decision.localised!,
      identity: 'finding-map-seg',
      algorithm: { name: 'image-cnn', version: '1', title: 'Chest radiograph CNN' },
      softwareVersion: 'fhir-fusion test',
      contentDateTime: '2026-01-02T03:04:05Z',
    });
    const file = dcmjs.data.DicomMessage.readFile(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    );
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict);
    const segment = (
      Array.isArray(ds['SegmentSequence']) ? ds['SegmentSequence'][0] : ds['SegmentSequence']
    ) as Record<string, unknown>;
    expect(segment['SegmentDescription']).toBe(
      'Region where the model located Cardiomegaly (not a diagnosis)',
    );
  });
});
