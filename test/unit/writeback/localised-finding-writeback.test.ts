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
import { localisedFindings } from '../../../src/writeback/localised-findings.js';
import { assessmentIdentity } from '../../../src/contracts/assessment-identity.js';
import { createProfileValidator, type ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { referenceModel } from './assessment-fixture.js';
import { localisedResult } from './localisation-fixture.js';
import type { AssessmentResult } from '../../../src/contracts/assessment-result.js';

let validator: ProfileValidator;
beforeAll(() => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
});

function bundleOf(result: AssessmentResult) {
  const { manifest, cardMarkdown } = referenceModel();
  const localised = localisedFindings(result, manifest);
  return buildAssessmentBundle({
    result,
    manifest,
    cardMarkdown,
    softwareVersion: 'fhir-fusion test',
    identifierSystem: 'urn:test',
    ...(localised ? { localised } : {}),
  });
}

const ofType = <T extends Resource>(resources: Resource[], type: T['resourceType']): T[] =>
  resources.filter((r): r is T => r.resourceType === type);

describe('localised findings in the write-back (issue #20 point 5)', () => {
  it('localises only called outcomes with an image finding, on the source pixels under the peak', () => {
    const result = localisedResult();
    const localised = localisedFindings(result, referenceModel().manifest);
    expect(localised?.findings.map((f) => [f.outcomeIndex, f.finding.code, f.segmentNumber])).toEqual([
      [0, '8186001', 1],
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
