import type { RiskAssessment } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AssessmentResult } from '../../../src/contracts/assessment-result.js';
import { checkFusionInvariants } from '../../../src/writeback/assessment-invariants.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import { EXTENSION_URLS } from '../../../src/contracts/fusion-terminology.js';
import { createProfileValidator, type ProfileValidator } from '../../../src/writeback/validate-profiles.js';
import { ensureR4DefinitionsIndexed } from '../../../src/writeback/index-r4-definitions.js';
import { referenceModel, sampleResult } from './assessment-fixture.js';

let validator: ProfileValidator;
beforeAll(() => {
  validator = createProfileValidator(ensureR4DefinitionsIndexed());
});

function riskAssessmentOf(result: AssessmentResult): RiskAssessment {
  const { manifest, cardMarkdown } = referenceModel();
  const bundle = buildAssessmentBundle({ result, manifest, cardMarkdown, softwareVersion: 'fhir-fusion test', identifierSystem: 'urn:test' });
  const ra = bundle.entry?.find((e) => e.resource?.resourceType === 'RiskAssessment')?.resource as RiskAssessment;
  for (const entry of bundle.entry ?? []) expect(validator.validate(entry.resource!), entry.resource?.resourceType).toBeUndefined();
  return ra;
}

const tooLittle = (outcomeIndex: number) => ({
  outcomeIndex,
  reason: 'too-little-information' as const,
  detail: 'too little information: needs at least 4 of heart_rate, respiratory_rate',
});

describe('an outcome the model did not assess (issue #17)', () => {
  it('every outcome abstained: a final RiskAssessment with no prediction, one outcome-not-assessed per outcome, valid against R4 and the profiles', () => {
    const ra = riskAssessmentOf(
      sampleResult('pat-1', {
        predictions: [],
        modalityContributions: [],
        featureContributions: [],
        executionProvider: 'none',
        notAssessed: [0, 1, 2].map(tooLittle),
      }),
    );
    expect(ra.status).toBe('final');
    expect(ra.prediction).toBeUndefined();
    const declared = (ra.extension ?? []).filter((e) => e.url === EXTENSION_URLS.outcomeNotAssessed);
    expect(declared).toHaveLength(3);
    expect(declared.map((e) => e.extension?.find((x) => x.url === 'outcome')?.valueCodeableConcept?.text)).toEqual([
      'Acute heart failure',
      'Pneumonia',
      'Atrial fibrillation',
    ]);
    expect(declared[0]?.extension?.find((x) => x.url === 'reason')?.valueCoding?.code).toBe('too-little-information');
    expect(ra.text?.div).toContain('Atrial fibrillation: not assessed (too little information');
    expect(ra.identifier?.[0]?.value).toMatch(/^[0-9a-f]{64}$/);
  });

  it('one outcome abstained: the others keep their probability, the abstained one has neither probability nor qualitativeRisk, deltas are realigned', () => {
    const ra = riskAssessmentOf(
      sampleResult('pat-1', {
        predictions: [
          { outcomeIndex: 0, probability: 0.6, qualitativeRisk: 'high' },
          { outcomeIndex: 1, probability: 0.12, qualitativeRisk: 'low' },
        ],
        modalityContributions: [{ modality: 'tabular', delta: [0.4, -0.02] }],
        featureContributions: [{ feature: 'creatinine', value: 2.1, unit: 'mg/dL', delta: [0.12, 0.01] }],
        notAssessed: [{ outcomeIndex: 2, reason: 'required-input-missing', detail: 'Atrial fibrillation needs at least 2 of nt_probnp, creatinine' }],
      }),
    );
    expect(ra.prediction?.map((p) => p.outcome?.text)).toEqual(['Acute heart failure', 'Pneumonia']);
    const contributionOutcomes = (ra.extension ?? [])
      .filter((e) => e.url === EXTENSION_URLS.modalityContribution || e.url === EXTENSION_URLS.featureContribution)
      .map((e) => e.extension?.find((x) => x.url === 'outcome')?.valueCodeableConcept?.text);
    expect(contributionOutcomes).not.toContain('Atrial fibrillation');
  });

  it('a RiskAssessment without prediction and without the not-assessed declaration is refused', () => {
    const ra = riskAssessmentOf(
      sampleResult('pat-1', { predictions: [], modalityContributions: [], featureContributions: [], notAssessed: [0, 1, 2].map(tooLittle) }),
    );
    const stripped: RiskAssessment = { ...ra, extension: (ra.extension ?? []).filter((e) => e.url !== EXTENSION_URLS.outcomeNotAssessed) };
    expect(checkFusionInvariants(stripped).map((i) => i.expression?.[0])).toContain('RiskAssessment.prediction');
    const outcome = validator.validate(stripped);
    expect(outcome?.issue?.some((i) => i.details?.text?.includes('ffra-7') || i.expression?.[0] === 'RiskAssessment.prediction')).toBe(true);
  });

  it('observations seen but not used are an unused-input extension and a narrative line, valid against the profiles', () => {
    const ra = riskAssessmentOf(
      sampleResult('pat-1', {
        unusedInputs: [
          { code: { system: 'http://loinc.org', code: '2019-8', display: 'Carbon dioxide [Partial pressure] in Arterial blood' }, count: 2 },
          { code: { system: 'http://loinc.org', code: '1925-7' }, count: 1 },
        ],
      }),
    );
    const unused = (ra.extension ?? []).filter((e) => e.url === EXTENSION_URLS.unusedInput);
    expect(unused.map((e) => [e.extension?.find((x) => x.url === 'code')?.valueCoding?.code, e.extension?.find((x) => x.url === 'count')?.valueInteger])).toEqual([
      ['2019-8', 2],
      ['1925-7', 1],
    ]);
    expect(ra.text?.div).toContain('Seen but not used by this model: Carbon dioxide [Partial pressure] in Arterial blood (2), LOINC 1925-7 (1).');
  });

  it('a plain-text note says main drivers, not used, missing and not assessed — names and percentage points only, no values', () => {
    const ra = riskAssessmentOf(
      sampleResult('pat-1', {
        predictions: [
          { outcomeIndex: 0, probability: 0.6, qualitativeRisk: 'high' },
          { outcomeIndex: 1, probability: 0.12, qualitativeRisk: 'low' },
        ],
        modalityContributions: [{ modality: 'tabular', delta: [0.4, -0.02] }],
        featureContributions: [
          { feature: 'creatinine', value: 2.1, unit: 'mg/dL', delta: [0.12, 0.01] },
          { feature: 'heart_rate', value: 118, unit: '/min', delta: [0.05, -0.03] },
        ],
        unusedInputs: [{ code: { system: 'http://loinc.org', code: '1925-7', display: 'Base excess' }, count: 1 }],
        notAssessed: [{ outcomeIndex: 2, reason: 'required-input-missing', detail: 'Atrial fibrillation needs the ECG or at least 2 of nt_probnp, creatinine' }],
      }),
    );
    const note = ra.note?.[0]?.text ?? '';
    expect(note).toMatch(
      /^Main drivers: Acute heart failure — creatinine \+12\.0 pts, heart rate \+5\.0 pts \| Pneumonia — heart rate −3\.0 pts, creatinine \+1\.0 pts; not used: Base excess \(1\); missing: .+; not assessed: Atrial fibrillation \(Atrial fibrillation needs the ECG or at least 2 of nt_probnp, creatinine\)\.$/,
    );
    expect(note).not.toMatch(/2\.1|118|pat-1/);
    expect(ra.note?.[1]?.text).toMatch(/synthetic/);
  });
});
