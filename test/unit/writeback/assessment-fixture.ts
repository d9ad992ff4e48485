import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reference, Resource } from '@medplum/fhirtypes';
import type { AssessmentResult } from '../../../src/contracts/assessment-result.js';
import { buildAssessmentBundle } from '../../../src/writeback/build-assessment-bundle.js';
import type { ModelManifest } from '../../../src/contracts/manifest-types.js';
import { repoRoot } from '../../helpers/fixtures.js';

/** The shipped reference model's manifest and card (models/tabular-risk/1). */
export function referenceModel(): { manifest: ModelManifest; cardMarkdown: string } {
  const dir = join(repoRoot, 'models', 'tabular-risk', '1');
  return {
    manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest,
    cardMarkdown: readFileSync(join(dir, 'card.md'), 'utf8'),
  };
}

/** A realistic result for that model: three outcomes, tabular only, the other modalities missing. */
export function sampleResult(
  patientId = 'pat-1',
  overrides: Partial<AssessmentResult> = {},
): AssessmentResult {
  return {
    modelName: 'tabular-risk',
    modelVersion: '1',
    modelSha256: '694b178c2a47cadefe53c697548103702551abbb3b9e4d7a03122be191a9d4af',
    patientId,
    basis: [
      { resourceType: 'Patient', id: patientId, versionId: '1' },
      { resourceType: 'Observation', id: `${patientId}-hr`, versionId: '3' },
      { resourceType: 'Observation', id: `${patientId}-creatinine`, versionId: '1' },
    ],
    predictions: [
      { outcomeIndex: 0, probability: 0.6123456789, qualitativeRisk: 'high' },
      { outcomeIndex: 1, probability: 0.12, qualitativeRisk: 'low' },
      { outcomeIndex: 2, probability: 0.31, qualitativeRisk: 'moderate' },
    ],
    modalityContributions: [{ modality: 'tabular', delta: [0.41, -0.02, 0.1] }],
    featureContributions: [
      { feature: 'creatinine', value: 2.1, unit: 'mg/dL', delta: [0.12, 0.01, -0.003] },
      { feature: 'heart_rate', value: 118, unit: '/min', delta: [0.05, 0.02, 0.09] },
    ],
    executionProvider: 'cpu',
    missing: [
      { modality: 'text', status: 'missing', reason: 'none-in-window', detail: 'No report in the last 72 h' },
      {
        modality: 'image',
        status: 'missing',
        reason: 'failed-to-decode',
        detail: 'Transfer syntax not supported',
      },
      { modality: 'ecg', status: 'missing', reason: 'none-in-window', detail: 'No ECG in the last 24 h' },
    ],
    occurredAt: '2026-11-23T18:00:00.000Z',
    traceId: 'trace-0001',
    ...overrides,
  };
}

/**
 * The resources of the write-back Bundle for `result` with the reference model, in entry order;
 * with `previous`, the RiskAssessment it replaces.
 */
export function bundleResources(result: AssessmentResult, previous?: Reference): Resource[] {
  const { manifest, cardMarkdown } = referenceModel();
  return (
    buildAssessmentBundle({
      result,
      manifest,
      cardMarkdown,
      ...(previous ? { previous } : {}),
      softwareVersion: '0.1.0',
      identifierSystem: 'https://hospital.example.org/fhir-fusion/assessment',
    }).entry ?? []
  ).map((e) => e.resource as Resource);
}
