import type { RiskAssessment } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXTENSION_URLS } from '../../../src/contracts/fusion-terminology.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { createProfileValidator, type ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { referenceModel, sampleResult } from './assessment-fixture.js';

let validator: ProfileValidator;
beforeAll(() => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
});

const DETAIL =
  'ECG unlike the training data: out-of-distribution score 7.10 above the threshold 4.33 (set to 1 % false alarms on held-out synthetic patients)';

describe('an out-of-distribution modality in the RiskAssessment (issue #17)', () => {
  it('is a missing modality coded out-of-distribution with the score and threshold in its detail and the note, valid against R4 and the profiles', () => {
    const { manifest, cardMarkdown } = referenceModel();
    const result = sampleResult('pat-1', {
      missing: [{ modality: 'ecg', status: 'missing', reason: 'out-of-distribution', detail: DETAIL }],
    });
    const bundle = buildAssessmentBundle({
      result,
      manifest,
      cardMarkdown,
      softwareVersion: 'fhir-fusion test',
      identifierSystem: 'urn:test',
    });
    for (const entry of bundle.entry ?? [])
      expect(validator.validate(entry.resource!), entry.resource?.resourceType).toBeUndefined();
    const ra = bundle.entry?.find((e) => e.resource?.resourceType === 'RiskAssessment')
      ?.resource as RiskAssessment;
    const missing = (ra.extension ?? []).find((e) => e.url === EXTENSION_URLS.missingModality);
    const reason = missing?.extension?.find((x) => x.url === 'reason')?.valueCoding;
    expect(reason).toMatchObject({ code: 'out-of-distribution', display: 'Unlike the training data' });
    expect(missing?.extension?.find((x) => x.url === 'detail')?.valueString).toBe(DETAIL);
    expect(ra.note?.map((n) => n.text).join(' ')).toContain('score 7.10 above the threshold 4.33');
  });
});
