import type {
  DraftedDescription,
  DraftingModelDescription,
} from '../../../src/writeback/build-draft-report.js';

/** A drafting model's description as the write-back sees it (no model files needed). */
export function draftingModel(): DraftingModelDescription {
  return {
    manifest: {
      schemaVersion: 1,
      name: 'cxr-caption',
      version: '1',
      title: 'Chest radiograph description drafter',
      description: 'Drafts a short description of a frontal chest radiograph.',
      trainingData: { synthetic: true, description: 'synthetic cohort radiographs and report sentences' },
      files: {},
    },
    cardMarkdown: '# Chest radiograph description drafter\n\nTrained on synthetic data.\n',
    modalities: ['image'],
  };
}

/** A drafted description of study `study-1` for `patientId`. */
export function sampleDraft(
  patientId = 'pat-1',
  overrides: Partial<DraftedDescription> = {},
): DraftedDescription {
  const study = { resourceType: 'ImagingStudy', id: `${patientId}-study`, versionId: '2' };
  return {
    text: 'The cardiac silhouette is enlarged. No pleural effusion.',
    truncated: false,
    modelName: 'cxr-caption',
    modelVersion: '1',
    modelSha256: 'a'.repeat(64),
    patientId,
    study,
    basis: [study],
    occurredAt: '2026-11-23T18:00:00.000Z',
    executionProvider: 'cpu',
    traceId: 'trace-0001',
    ...overrides,
  };
}
