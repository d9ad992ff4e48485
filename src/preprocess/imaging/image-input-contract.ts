import type { ModalityPreprocessing } from '../../contracts/manifest-types.js';
import { fail, ok, type PreprocessResult } from '../result.js';
import type { DecodedImage } from './decode-dicom-image.js';

/** The DICOM attributes an image input contract can require. */
export type ImageContractTag = 'Modality' | 'BodyPartExamined' | 'ViewPosition';

const TAG_PATH: Record<ImageContractTag, string> = {
  Modality: 'Modality (0008,0060)',
  BodyPartExamined: 'BodyPartExamined (0018,0015)',
  ViewPosition: 'ViewPosition (0018,5101)',
};

/**
 * Checks a decoded image against the manifest's allow-lists: Modality (`modalities`), Body Part
 * Examined (`bodyParts`, or the single `bodyPart` when no list is given) and View Position
 * (`viewPositions`). An empty list accepts anything. A missing attribute does not match unless
 * the manifest lists it in `allowMissingTags`: a C-spine film without the tag is not a chest film.
 * Body part values are the DICOM defined terms (PS3.16 Annex L), compared case-insensitively.
 */
export function checkImageContract(image: Pick<DecodedImage, 'modality' | 'bodyPartExamined' | 'viewPosition'>, spec: NonNullable<ModalityPreprocessing['image']>): PreprocessResult<void> {
  const allowMissing = new Set(spec.allowMissingTags ?? []);
  const bodyParts = spec.bodyParts ?? (spec.bodyPart ? [spec.bodyPart] : []);
  const checks: Array<[ImageContractTag, string | undefined, string[]]> = [
    ['Modality', image.modality, spec.modalities],
    ['BodyPartExamined', image.bodyPartExamined, bodyParts],
    ['ViewPosition', image.viewPosition, spec.viewPositions],
  ];
  for (const [tag, value, allowed] of checks) {
    if (allowed.length === 0) continue;
    if (value === undefined || value === '') {
      if (allowMissing.has(tag)) continue;
      return fail('outside-input-contract', `image not usable: ${TAG_PATH[tag]} is missing; the model accepts ${allowed.join(', ')}`);
    }
    if (!allowed.some((a) => a.toUpperCase() === value.toUpperCase())) {
      // A CS value (PS3.5 6.2: ≤ 16 upper-case characters) is a defined term, not patient data; anything else is not echoed.
      const shown = /^[A-Z0-9 _]{1,16}$/.test(value) ? value : '(non-standard value)';
      return fail('outside-input-contract', `image not usable: ${TAG_PATH[tag]} ${shown} is not one the model accepts (${allowed.join(', ')})`);
    }
  }
  return ok(undefined);
}
