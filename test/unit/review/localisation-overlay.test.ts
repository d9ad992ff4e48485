import type { Observation, RiskAssessment } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { assessmentView } from '../../../src/review/smart-app/assessment-view.js';
import type { ReviewData } from '../../../src/review/smart-app/load-review-data.js';
import {
  blendRegion,
  findingOverlayOf,
  segmentMask,
} from '../../../src/review/smart-app/localisation-overlay.js';
import { renderReviewPage } from '../../../src/review/smart-app/render-review-page.js';
import { modelImageGeometry } from '../../../src/preprocess/imaging/to-model-image.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { buildSegmentation } from '../../../src/writeback/build-segmentation.js';
import { localisedFindings } from '../../../src/writeback/localised-findings.js';
import { referenceModel } from '../writeback/assessment-fixture.js';
import { localisedResult, GATE, validatedManifest } from '../writeback/localisation-fixture.js';

const { cardMarkdown } = referenceModel();
const manifest = validatedManifest(referenceModel().manifest);
const result = localisedResult();
const localised = localisedFindings(result, manifest, GATE).localised!;
const bundle = buildAssessmentBundle({
  result,
  manifest,
  cardMarkdown,
  softwareVersion: 't',
  identifierSystem: 'urn:test',
  localised,
});
const finding = {
  ...(bundle.entry!.find((e) => e.resource?.resourceType === 'Observation')!.resource as Observation),
  id: 'obs-1',
};
const seg = buildSegmentation({
  localised,
  identity: 'id-1',
  algorithm: { name: 'tabular-risk', version: '1', title: 't' },
  softwareVersion: 't',
  contentDateTime: result.occurredAt,
});

describe('review app: the localisation overlay (issue #20 point 6)', () => {
  it('reads the SEG and finding code a FusionImagingFinding names, nothing from other Observations', () => {
    expect(findingOverlayOf(finding)).toEqual({
      segSopInstanceUid: expect.stringMatching(/^2\.25\./),
      findingCode: '8186001',
    });
    expect(findingOverlayOf({ ...finding, meta: {} })).toBeUndefined();
  });

  it('recovers the finding region from the SEG and tints exactly it on the thumbnail', () => {
    const region = segmentMask(seg.bytes, '8186001')!;
    expect(region).toMatchObject({ width: 128, height: 96 });
    expect(Array.from(region.mask)).toEqual(Array.from(localised.findings[0]!.mask));
    expect(segmentMask(seg.bytes, '95436008')).toBeUndefined();
    // A 32×32 thumbnail of the 128×96 frame: rows 4..27 are the image, the rest padding.
    const geometry = modelImageGeometry(128, 96, [32, 32]);
    const rgb = blendRegion(new Uint8Array(32 * 32).fill(100), geometry, region);
    const tinted = (x: number, y: number) => rgb[(y * 32 + x) * 3] !== 100;
    // The peak (source 40, 56) sits at thumbnail (10, 4 + 14); far right and the padding stay grey.
    expect(tinted(10, 18)).toBe(true);
    expect(tinted(28, 18)).toBe(false);
    expect(tinted(10, 1)).toBe(false);
  });

  it("shows the overlay under the image with the finding's own words (an outcome map: model attention, not a diagnosis)", () => {
    const ra = {
      ...(bundle.entry!.find((e) => e.resource?.resourceType === 'RiskAssessment')!
        .resource as RiskAssessment),
      id: 'ra-1',
    };
    const data: ReviewData = {
      patient: { resourceType: 'Patient', id: 'pat-1' },
      assessments: [assessmentView(ra)],
      versions: {},
      reviews: [],
      model: undefined,
      inputs: [],
      sentences: [],
      ecg: undefined,
      imaging: {
        resourceType: 'ImagingStudy',
        id: 'img-1',
        status: 'available',
        subject: { reference: 'Patient/pat-1' },
      },
      findings: [finding],
      similarCases: undefined,
    };
    const html = renderReviewPage(data, {
      prefix: '/review',
      iss: 'https://ehr.example.org/fhir',
      csrfToken: 't',
      notice: undefined,
      fhirUser: undefined,
    });
    expect(html).toContain('/review/images/img-1/thumbnail.png?finding=obs-1');
    expect(html).toContain('Cardiomegaly (AI-generated, preliminary): Region the model');
    expect(html).toContain('model attention, not a diagnosis.');
    const without = renderReviewPage(
      { ...data, findings: [] },
      {
        prefix: '/review',
        iss: 'https://ehr.example.org/fhir',
        csrfToken: 't',
        notice: undefined,
        fhirUser: undefined,
      },
    );
    expect(without).not.toContain('?finding=');
  });
});
