import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeSystem, Observation, Provenance, Resource, RiskAssessment } from '@medplum/fhirtypes';
import type { LocalisationNotMappedReason } from '../../../src/contracts/localisation.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { validateResource } from '@medplum/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AIAST,
  CODE_SYSTEMS,
  EXTENSION_URLS,
  PROFILE_URLS,
} from '../../../src/contracts/fusion-terminology.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { segmentationUids } from '../../../src/writeback/build-segmentation.js';
import { localisedFindings, withLocalisationDecision } from '../../../src/writeback/localised-findings.js';
import { assessmentIdentity } from '../../../src/contracts/assessment-identity.js';
import { createProfileValidator, type ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { referenceModel } from './assessment-fixture.js';
import { lesionFigures, localisedResult, GATE, validatedManifest } from './localisation-fixture.js';
import type { AssessmentResult } from '../../../src/contracts/assessment-result.js';

let validator: ProfileValidator;
beforeAll(() => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
});

/** What the pipeline writes: the gate's decision, its withheld findings named in the RiskAssessment. */
function bundleOf(result: AssessmentResult, manifest = validatedManifest(referenceModel().manifest)) {
  const decision = localisedFindings(result, manifest, GATE);
  return buildAssessmentBundle({
    result: withLocalisationDecision(result, decision),
    manifest,
    cardMarkdown: referenceModel().cardMarkdown,
    softwareVersion: 'fhir-fusion test',
    identifierSystem: 'urn:test',
    ...(decision.localised ? { localised: decision.localised } : {}),
  });
}

const ofType = <T extends Resource>(resources: Resource[], type: T['resourceType']): T[] =>
  resources.filter((r): r is T => r.resourceType === type);

describe('localised findings in the write-back (issue #20 point 5)', () => {
  it('localises only called outcomes with an image finding, on the source pixels under the peak', () => {
    const result = localisedResult();
    const { localised, notValidated } = localisedFindings(
      result,
      validatedManifest(referenceModel().manifest),
      GATE,
    );
    expect(notValidated).toBeUndefined();
    expect(localised?.findings.map((f) => [f.key, f.finding.code, f.segmentNumber])).toEqual([
      ['0', '8186001', 1],
    ]);
    // Peak cell (2, 4): model centre (20, 36) → source (40, (36 − 8)·96/48 = 56) on the 128×96 frame.
    const mask = localised!.findings[0]!.mask;
    expect(mask[56 * 128 + 40]).toBe(1);
    expect(mask[56 * 128 + 100]).toBe(0);
  });

  it('writes one FusionImagingFinding per finding in the same transaction, named in basis and Provenance, valid against R4 and the profiles', () => {
    const result = localisedResult();
    const bundle = bundleOf(result);
    const entries = bundle.entry ?? [];
    const resources = entries.map((e) => e.resource as Resource);
    for (const r of resources) {
      expect(() => validateResource(r), r.resourceType).not.toThrow();
      expect(validator.validate(r), r.resourceType).toBeUndefined();
    }
    const [finding, ...more] = ofType<Observation>(resources, 'Observation');
    expect(more).toHaveLength(0);
    const entry = entries.find((e) => e.resource === finding)!;
    expect(entry.request).toMatchObject({ method: 'POST', url: 'Observation' });
    expect(entry.request?.ifNoneExist).toContain(
      encodeURIComponent(`${assessmentIdentity(result)}/finding/0`),
    );
    const seg = segmentationUids(assessmentIdentity(result), '2.25.101');
    expect(finding).toMatchObject({
      meta: { profile: [PROFILE_URLS.ImagingFinding], security: [AIAST] },
      status: 'preliminary',
      category: [{ coding: [{ code: 'imaging' }] }],
      code: { coding: [{ system: 'http://snomed.info/sct', code: '8186001' }] },
      subject: { reference: 'Patient/pat-1' },
      effectiveDateTime: result.occurredAt,
      derivedFrom: [{ reference: 'ImagingStudy/img-1/_history/2' }],
    });
    expect(finding!.identifier).toContainEqual({
      system: 'urn:dicom:uid',
      value: `urn:oid:${seg.sopInstanceUid}`,
    });
    const note = finding!.note!.map((n) => n.text).join(' ');
    for (const uid of [seg.studyInstanceUid, seg.seriesInstanceUid, seg.sopInstanceUid])
      expect(note).toContain(uid);
    expect(note).toContain('not a diagnosis');
    const device = entries.find((e) => e.resource?.resourceType === 'Device')!;
    expect(finding!.device?.reference).toBe(device.fullUrl);
    const ra = ofType<RiskAssessment>(resources, 'RiskAssessment')[0]!;
    expect(ra.basis?.map((b) => b.reference)).toContain(entry.fullUrl);
    const provenance = ofType<Provenance>(resources, 'Provenance')[0]!;
    expect(provenance.target.map((t) => t.reference)).toContain(entry.fullUrl);
    // Observations come before the RiskAssessment that cites them.
    expect(entries.indexOf(entry)).toBeLessThan(entries.findIndex((e) => e.resource === ra));
  });

  it('the profile refuses a finding that does not name its SEG, its ImagingStudy or AIAST', () => {
    const resources = (bundleOf(localisedResult()).entry ?? []).map((e) => e.resource as Resource);
    const finding = ofType<Observation>(resources, 'Observation')[0]!;
    const broken: Observation[] = [
      {
        ...finding,
        identifier: finding
          .identifier!.filter((i) => i.system !== 'urn:dicom:uid')
          .concat({ system: 'urn:x', value: 'y' }),
      },
      { ...finding, derivedFrom: [{ reference: 'DiagnosticReport/1' }] },
      { ...finding, meta: { profile: [PROFILE_URLS.ImagingFinding] } },
    ];
    for (const b of broken)
      expect(validator.validate(b)?.issue?.some((i) => i.severity === 'error')).toBe(true);
  });

  it('an image the map cannot be placed on: the assessment is written, no finding, the reason named', () => {
    const result = localisedResult({
      localisation: {
        maps: [],
        notMapped: { reason: 'multiframe', detail: 'Number of Frames (0028,0008) is 3' },
      },
    });
    const resources = (bundleOf(result).entry ?? []).map((e) => e.resource as Resource);
    expect(ofType<Observation>(resources, 'Observation')).toHaveLength(0);
    const ra = ofType<RiskAssessment>(resources, 'RiskAssessment')[0]!;
    expect(validator.validate(ra)).toBeUndefined();
    expect(ra.note?.map((n) => n.text)).toContain(
      'Localisation not shown on the image (multiframe): Number of Frames (0028,0008) is 3.',
    );
    expect(ra.text?.div).toContain('Localisation not shown on the image (multiframe)');
    expect(ra.extension?.find((e) => e.url === EXTENSION_URLS.localisationNotShown)?.extension).toEqual([
      {
        url: 'reason',
        valueCoding: { system: CODE_SYSTEMS.localisationNotMappedReason, code: 'multiframe' },
      },
      { url: 'detail', valueString: 'Number of Frames (0028,0008) is 3' },
    ]);
  });

  /** The RiskAssessment of a bundle, checked valid; and whether any finding or SEG would be written. */
  function withheld(manifest: ReturnType<typeof validatedManifest>) {
    const result = localisedResult();
    expect(localisedFindings(result, manifest, GATE).localised).toBeUndefined();
    const resources = (bundleOf(result, manifest).entry ?? []).map((e) => e.resource as Resource);
    expect(ofType<Observation>(resources, 'Observation')).toHaveLength(0);
    const ra = ofType<RiskAssessment>(resources, 'RiskAssessment')[0]!;
    expect(validator.validate(ra)).toBeUndefined();
    expect(() => validateResource(ra)).not.toThrow();
    const extension = ra.extension?.find((e) => e.url === EXTENSION_URLS.localisationNotShown)?.extension;
    expect(extension?.[0]).toEqual({
      url: 'reason',
      valueCoding: { system: CODE_SYSTEMS.localisationNotMappedReason, code: 'not-validated' },
    });
    return { ra, detail: extension?.[1]?.valueString };
  }

  it('a map whose evaluation fails the gate: no SEG, no finding, the figures named (not-validated)', () => {
    // image-cnn@1's own cardiomegaly figures (models/image-cnn/1/manifest.json): far below the prior.
    const { ra, detail } = withheld(
      validatedManifest(referenceModel().manifest, [
        lesionFigures(
          'cardiomegaly',
          { code: '8186001', display: 'Cardiomegaly' },
          '56675007',
          { mean: 0.186, lower: 0.147, upper: 0.228 },
          1,
        ),
      ]),
    );
    expect(detail).toBe(
      "the Cardiomegaly map did not pass validation (pointing game 0.186, lower 95 % bound 0.147 < 0.85, below the anatomical prior's 1; 300 held-out synthetic images, split test)",
    );
    expect(ra.note?.map((n) => n.text)).toContain(
      `Localisation not shown on the image (not-validated): ${detail}.`,
    );
    expect(ra.text?.div).toContain('Localisation not shown on the image (not-validated)');
  });

  it('a map without evaluation figures is not validated: no SEG, no finding, said so', () => {
    const { localisation: _none, ...metrics } = validatedManifest(referenceModel().manifest).metrics!;
    const { detail } = withheld({ ...referenceModel().manifest, metrics });
    expect(detail).toBe(
      "the Cardiomegaly map has no localisation evaluation in the model's manifest (metrics.localisation), so it is not validated",
    );
  });

  it('gates each finding on its own figures: a validated map is shown beside a withheld one', () => {
    const result = localisedResult({
      predictions: localisedResult().predictions.map((p) =>
        p.outcomeIndex === 1 ? { ...p, qualitativeRisk: 'high' as const } : p,
      ),
    });
    const manifest = validatedManifest(referenceModel().manifest, [
      lesionFigures('cardiomegaly', { code: '8186001', display: 'Cardiomegaly' }, '56675007', {
        mean: 0.95,
        lower: 0.92,
        upper: 0.97,
      }),
      // Lower bound above the minimum, but worse than where the lesion usually is.
      lesionFigures(
        'consolidation',
        { code: '95436008', display: 'Lung consolidation' },
        '233604007',
        { mean: 0.9, lower: 0.86, upper: 0.94 },
        0.92,
      ),
    ]);
    const { localised, notValidated } = localisedFindings(result, manifest, GATE);
    expect(localised?.findings.map((f) => f.finding.code)).toEqual(['8186001']);
    expect(notValidated?.detail).toMatch(
      /^the Lung consolidation map did not pass validation .*below the anatomical prior's 0\.92;/,
    );
    const resources = (bundleOf(result, manifest).entry ?? []).map((e) => e.resource as Resource);
    expect(ofType<Observation>(resources, 'Observation')).toHaveLength(1);
    expect(validator.validate(ofType<RiskAssessment>(resources, 'RiskAssessment')[0]!)).toBeUndefined();
  });

  it('the reason code system holds exactly the reasons the serving side names', () => {
    const cs = JSON.parse(
      readFileSync(
        join(repoRoot, 'fhir-profiles', 'CodeSystem', 'localisation-not-mapped-reason.json'),
        'utf8',
      ),
    ) as CodeSystem;
    const named: Record<LocalisationNotMappedReason, true> = {
      multiframe: true,
      'rotated-or-flipped': true,
      cropped: true,
      'not-for-presentation': true,
      'no-source-instance': true,
      'not-validated': true,
    };
    expect(cs.concept?.map((c) => c.code).sort()).toEqual(Object.keys(named).sort());
  });

  it('a model without maps writes exactly what it wrote before', () => {
    const { localisation: _dropped, ...plain } = localisedResult();
    const resources = (bundleOf(plain).entry ?? []).map((e) => e.resource as Resource);
    expect(resources.map((r) => r.resourceType)).toEqual([
      'DocumentReference',
      'Device',
      'RiskAssessment',
      'Provenance',
    ]);
  });
});
