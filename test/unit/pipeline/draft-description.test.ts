import type { Patient } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { DescriptionDrafter, DescriptionDraftResult } from '../../../src/contracts/description-draft.js';
import type { PatientRecord } from '../../../src/contracts/patient-record.js';
import {
  draftDescription,
  MAX_DRAFT_CHARS,
  type ServedDrafter,
} from '../../../src/pipeline/draft-description.js';
import { identifiersInText } from '../../../src/writeback/identifier-guard.js';
import { imageElements, syntheticPixels, writePart10 } from '../preprocess/imaging/synthetic-dicom.js';
import { draftingModel } from '../writeback/draft-fixture.js';

const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

const patient: Patient = {
  resourceType: 'Patient',
  id: 'pat-7731',
  name: [{ given: ['Amelia', 'Rose'], family: 'Okonkwo-Hart' }],
  identifier: [{ system: 'urn:oid:1.2.36.146.595.217.0.1', value: 'MRN-004512' }],
  birthDate: '1956-03-14',
  telecom: [{ system: 'phone', value: '+44 20 7946 0958' }],
};

/** A drafter made in the test: returns `result` and records what it was given. */
function testDrafter(
  result: DescriptionDraftResult,
): DescriptionDrafter & { calls: Array<[number, number, number]> } {
  const calls: Array<[number, number, number]> = [];
  return {
    modelName: 'cxr-caption',
    modelVersion: '1',
    calls,
    async draft(input) {
      calls.push(input.imageDims);
      expect(input.image.length).toBe(input.imageDims[0] * input.imageDims[1] * input.imageDims[2]);
      return result;
    },
    async close() {},
  };
}

const drafted = (text: string, truncated = false): DescriptionDraftResult => ({
  status: 'drafted',
  text,
  truncated,
  modelName: 'cxr-caption',
  modelVersion: '1',
  modelSha256: 'b'.repeat(64),
});

function served(drafter: DescriptionDrafter, bodyParts = ['CHEST']): ServedDrafter {
  return {
    drafter,
    image: {
      lookbackHours: 720,
      modalities: ['CR', 'DX'],
      bodyPart: 'CHEST',
      bodyParts,
      viewPositions: ['PA', 'AP'],
      size: [32, 32],
      mean: 0.5,
      std: 0.25,
    },
    description: draftingModel(),
    executionProvider: 'cpu',
  };
}

function record(
  extra: Record<string, unknown> = { BodyPartExamined: 'CHEST', ViewPosition: 'PA' },
): PatientRecord {
  const bytes = writePart10(
    imageElements(48, 40, syntheticPixels(48, 40, 12), { bitsAllocated: 16, bitsStored: 12, extra }),
    EXPLICIT_LITTLE,
  );
  const missing = { status: 'missing' as const, reason: 'none-in-window' as const, detail: 'none' };
  return {
    patient,
    asOf: '2026-11-23T18:00:00.000Z',
    roundTrips: 1,
    modalities: {
      tabular: missing,
      text: missing,
      ecg: missing,
      image: {
        status: 'present',
        data: {
          study: {
            resourceType: 'ImagingStudy',
            id: 'st-1',
            status: 'available',
            subject: { reference: 'Patient/pat-7731' },
          },
          instance: { studyInstanceUid: '1.2', seriesInstanceUid: '1.2.3', sopInstanceUid: '1.2.3.4', bytes },
        },
        sources: [{ resourceType: 'ImagingStudy', id: 'st-1', versionId: '4' }],
      },
    },
  };
}

describe('identifiersInText', () => {
  it('finds the patient name, MRN, birth date, phone and id, and names only their kinds', () => {
    expect(identifiersInText('Amelia has cardiomegaly.', patient)).toEqual(['name']);
    expect(identifiersInText('Compared with the film of Mrs okonkwo-hart.', patient)).toEqual(['name']);
    expect(identifiersInText('Record MRN-004512: enlarged heart.', patient)).toEqual(['identifier']);
    expect(identifiersInText('Record MRN 004512: enlarged heart.', patient)).toEqual(['identifier']);
    expect(identifiersInText('Born 14/03/1956.', patient)).toEqual(['birth-date']);
    expect(identifiersInText('DOB March 14, 1956.', patient)).toEqual(['birth-date']);
    expect(identifiersInText('DOB 1956-03-14.', patient)).toEqual(['birth-date']);
    expect(identifiersInText('Call 020 7946 0958.', patient)).toEqual(['telecom']);
    expect(identifiersInText('Patient pat-7731.', patient)).toEqual(['resource-id']);
  });

  it('passes a description that names nobody', () => {
    expect(
      identifiersInText(
        'The cardiac silhouette is enlarged. Small right pleural effusion. No consolidation in 2026.',
        patient,
      ),
    ).toEqual([]);
    // A name part inside a longer word is not the name ("Rosemary", "Ameliorated").
    expect(identifiersInText('Ameliorated appearance; rosemary-shaped artefact.', patient)).toEqual([]);
  });
});

describe('draftDescription', () => {
  it('feeds the drafter the image on the drafting model grid and returns the draft with its study', async () => {
    const drafter = testDrafter(drafted('  The cardiac silhouette is enlarged.  '));
    const outcome = await draftDescription(record(), served(drafter), { traceId: 't-1' });
    expect(drafter.calls).toEqual([[1, 32, 32]]);
    expect(outcome).toMatchObject({
      status: 'drafted',
      draft: {
        text: 'The cardiac silhouette is enlarged.',
        truncated: false,
        modelName: 'cxr-caption',
        patientId: 'pat-7731',
        study: { resourceType: 'ImagingStudy', id: 'st-1', versionId: '4' },
        occurredAt: '2026-11-23T18:00:00.000Z',
        traceId: 't-1',
      },
    });
  });

  it('refuses a draft that contains the patient name, MRN or birth date, naming the kinds and no value', async () => {
    for (const [text, kind] of [
      ['Amelia Okonkwo-Hart: enlarged heart.', 'name'],
      ['MRN-004512 enlarged heart.', 'identifier'],
      ['Enlarged heart, born 1956-03-14.', 'birth-date'],
    ] as const) {
      const outcome = await draftDescription(record(), served(testDrafter(drafted(text))));
      expect(outcome.status).toBe('not-drafted');
      const reason = outcome.status === 'not-drafted' ? outcome.reason : '';
      expect(reason).toContain(kind);
      for (const value of ['Amelia', 'Okonkwo', '004512', '1956']) expect(reason).not.toContain(value);
    }
  });

  it('caps a long draft at a word and marks it truncated', async () => {
    const long = Array.from({ length: 400 }, () => 'opacity').join(' ');
    const outcome = await draftDescription(record(), served(testDrafter(drafted(long))));
    expect(outcome.status).toBe('drafted');
    if (outcome.status !== 'drafted') return;
    expect(outcome.draft.text.length).toBeLessThanOrEqual(MAX_DRAFT_CHARS + 1);
    expect(outcome.draft.text.endsWith('opacity…')).toBe(true);
    expect(outcome.draft.truncated).toBe(true);
  });

  it('never runs the drafter on an image outside its input contract, and says why', async () => {
    const drafter = testDrafter(drafted('Enlarged heart.'));
    const outcome = await draftDescription(
      record({ BodyPartExamined: 'SKULL', ViewPosition: 'PA' }),
      served(drafter),
    );
    expect(drafter.calls).toEqual([]);
    expect(outcome).toMatchObject({
      status: 'not-drafted',
      reason: expect.stringContaining('input contract'),
    });
  });

  it('passes the drafting model’s refusal on, and drafts nothing without an image', async () => {
    const refusal = await draftDescription(
      record(),
      served(testDrafter({ status: 'not-drafted', reason: 'image too dark' })),
    );
    expect(refusal).toEqual({ status: 'not-drafted', reason: 'the drafting model declined: image too dark' });
    const noImage = {
      ...record(),
      modalities: {
        ...record().modalities,
        image: { status: 'missing' as const, reason: 'none-in-window' as const, detail: 'none' },
      },
    };
    const drafter = testDrafter(drafted('x'));
    expect(await draftDescription(noImage, served(drafter))).toEqual({
      status: 'not-drafted',
      reason: 'no usable image (none-in-window)',
    });
    expect(drafter.calls).toEqual([]);
  });
});
