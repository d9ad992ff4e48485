import { describe, expect, it } from 'vitest';
import type { OutcomeMap } from '../../../../src/contracts/localisation.js';
import { localiseOnSource } from '../../../../src/preprocess/imaging/localisation-source.js';
import { toModelImage } from '../../../../src/preprocess/imaging/to-model-image.js';
import { decodeDicomImage } from '../../../../src/preprocess/imaging/decode-dicom-image.js';
import { imageElements, syntheticPixels, writePart10 } from './synthetic-dicom.js';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const maps: OutcomeMap[] = [{ outcomeIndex: 0, width: 2, height: 2, values: new Float32Array([0, 1, 0, 0]) }];
const study = { resourceType: 'ImagingStudy' as const, id: 'img-1', versionId: '3' };

function instance(extra: Record<string, unknown> = {}, width = 40, height = 20) {
  const bytes = writePart10(
    imageElements(width, height, syntheticPixels(width, height, 12), {
      bitsAllocated: 16,
      bitsStored: 12,
      extra,
    }),
    EXPLICIT_LE,
  );
  return {
    studyInstanceUid: '2.25.1',
    seriesInstanceUid: '2.25.2',
    sopInstanceUid: '2.25.1234567890',
    bytes,
  };
}

describe('localiseOnSource (issue #20 point 1)', () => {
  it('carries the source identity and the geometry toModelImage used', () => {
    const fetched = instance({ FrameOfReferenceUID: '2.25.99', PatientID: 'SYN-7' });
    const loc = localiseOnSource({ maps }, fetched, study, { size: [16, 16] });
    expect(loc.notMapped).toBeUndefined();
    expect(loc.source).toEqual({
      studyInstanceUid: '2.25.1',
      seriesInstanceUid: '2.25.2',
      sopInstanceUid: '2.25.1234567890',
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
      frameOfReferenceUid: '2.25.99',
      frameNumber: 1,
      // The SEG is filed under the source's patient and study: their elements are carried as read.
      studyElements: { '00100020': { vr: 'LO', Value: ['SYN-7'] } },
      imagingStudy: study,
    });
    const decoded = decodeDicomImage(fetched.bytes, { maxPixels: 1e6 });
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(loc.geometry).toEqual(toModelImage(decoded.value, { size: [16, 16], mean: 0, std: 1 }).geometry);
    expect(loc.geometry).toMatchObject({
      sourceWidth: 40,
      sourceHeight: 20,
      scaledWidth: 16,
      scaledHeight: 8,
      offsetY: 4,
    });
  });

  it.each([
    [{ NumberOfFrames: 3 }, 'multiframe', 'Number of Frames (0028,0008) is 3'],
    [{ ImageRotation: 90 }, 'rotated-or-flipped', 'Image Rotation (0070,0042) is 90'],
    [{ ImageHorizontalFlip: 'Y' }, 'rotated-or-flipped', 'Image Horizontal Flip (0070,0041) is Y'],
    [
      { DisplayedAreaSelectionSequence: [{ PixelOriginInterpretation: 'FRAME' }] },
      'cropped',
      'Displayed Area Selection Sequence (0070,005A) is present',
    ],
    [
      { PresentationIntentType: 'FOR PROCESSING' },
      'not-for-presentation',
      'Presentation Intent Type (0008,0068) is FOR PROCESSING',
    ],
  ])('names why %o cannot be mapped back, and keeps no source', (extra, reason, detail) => {
    const frames = Number((extra as { NumberOfFrames?: number }).NumberOfFrames ?? 1);
    const loc = localiseOnSource({ maps }, instance(extra, 40, 20 * frames), study, { size: [16, 16] });
    expect(loc.notMapped).toEqual({ reason, detail });
    expect(loc.source).toBeUndefined();
    expect(loc.geometry).toBeUndefined();
    expect(loc.maps).toBe(maps);
  });

  it('names an unreadable instance', () => {
    const loc = localiseOnSource({ maps }, { ...instance(), bytes: new Uint8Array([1, 2, 3]) }, study, {
      size: [16, 16],
    });
    expect(loc.notMapped?.reason).toBe('no-source-instance');
  });
});
