import type { DescriptionDrafter } from '../contracts/description-draft.js';
import type { ModalityPreprocessing } from '../contracts/manifest-types.js';
import type { PatientRecord } from '../contracts/patient-record.js';
import type { CompressedFrameDecoder } from '../preprocess/imaging/compressed-frame-decoder.js';
import { decodeDicomImage } from '../preprocess/imaging/decode-dicom-image.js';
import type { LibraryMessageSink } from '../preprocess/imaging/dicom-dataset.js';
import { checkImageContract } from '../preprocess/imaging/image-input-contract.js';
import { toModelImage } from '../preprocess/imaging/to-model-image.js';
import type { DraftedDescription, DraftingModelDescription } from '../writeback/build-draft-report.js';
import { identifiersInText } from '../writeback/identifier-guard.js';

/**
 * A drafting model as the pipeline serves it (issue #20): the drafter (which runs the model off the
 * event loop), how its input image is preprocessed, and how the write-back describes it. Built from
 * the model folder by the factory passed to the runtime (`RuntimeOptions.openDrafter`).
 */
export interface ServedDrafter {
  drafter: DescriptionDrafter;
  /** The drafting model's image preprocessing (its manifest's `preprocessing.image`). */
  image: NonNullable<ModalityPreprocessing['image']>;
  /** Manifest header, card and modalities read: for the Device and card written with each draft. */
  description: DraftingModelDescription;
  /** The ONNX Runtime execution provider the drafter runs on (Provenance extension). */
  executionProvider: string;
}

/**
 * Builds the served drafter for `DESCRIPTION_MODEL` (`name@version` in `modelsDir`): verifies and
 * loads the model folder and starts its worker. Passed in from `main.ts` (dependency injection) so
 * that the runtime does not depend on how a drafting model is built.
 */
export type DrafterFactory = (input: {
  name: string;
  version: string;
  /** `MODELS_DIR`, resolved against the repository root. */
  modelsDir: string;
}) => Promise<ServedDrafter>;

/** Longest description written (characters); a longer draft is cut at a word and marked truncated. */
export const MAX_DRAFT_CHARS = 1_000;

/** A draft ready to write, or why there is none (plain text, never a patient value). */
export type DraftOutcome =
  { status: 'drafted'; draft: DraftedDescription } | { status: 'not-drafted'; reason: string };

/** Options of {@link draftDescription}. */
export interface DraftOptions {
  codecs?: CompressedFrameDecoder;
  onLibraryMessage?: LibraryMessageSink;
  /** Largest image frame accepted, in pixels (default 50 megapixels, as for the risk models). */
  maxImagePixels?: number;
  traceId?: string;
}

/** Cuts `text` to at most `max` characters at a word boundary. */
function cap(text: string, max: number): { text: string; cut: boolean } {
  const trimmed = text.trim();
  if (trimmed.length <= max) return { text: trimmed, cut: false };
  const head = trimmed.slice(0, max);
  const space = head.lastIndexOf(' ');
  return { text: `${(space > max / 2 ? head.slice(0, space) : head).trimEnd()}…`, cut: true };
}

/**
 * Drafts a description of the patient's chest radiograph: decodes the image, refuses one outside
 * the drafting model's input contract (as preprocessing does for the risk models: a model never
 * answers from input it was not built for), runs the drafter, caps the text and passes it through
 * the identifier guard. A draft that names the patient (name, MRN, birth date, telecom, id) is not
 * written; the reason names the kinds found, never the values.
 */
export async function draftDescription(
  record: PatientRecord,
  served: ServedDrafter,
  options: DraftOptions = {},
): Promise<DraftOutcome> {
  const image = record.modalities.image;
  if (image.status !== 'present')
    return { status: 'not-drafted', reason: `no usable image (${image.reason})` };
  const study = image.sources.find((s) => s.resourceType === 'ImagingStudy');
  if (!study) return { status: 'not-drafted', reason: 'the image has no ImagingStudy to describe' };
  const decoded = decodeDicomImage(image.data.instance.bytes, {
    maxPixels: options.maxImagePixels ?? 50_000_000,
    ...(options.codecs ? { codecs: options.codecs } : {}),
    ...(options.onLibraryMessage ? { onLibraryMessage: options.onLibraryMessage } : {}),
  });
  if (!decoded.ok)
    return { status: 'not-drafted', reason: `image not usable: ${decoded.reason} (${decoded.detail})` };
  const contract = checkImageContract(decoded.value, served.image);
  if (!contract.ok) {
    return {
      status: 'not-drafted',
      reason: `image outside the drafting model's input contract (${contract.detail})`,
    };
  }
  const modelImage = toModelImage(decoded.value, served.image);
  const [channels = 1, height = 0, width = 0] = modelImage.dims;
  const result = await served.drafter.draft({ image: modelImage.data, imageDims: [channels, height, width] });
  if (result.status !== 'drafted')
    return { status: 'not-drafted', reason: `the drafting model declined: ${result.reason}` };
  const capped = cap(result.text, MAX_DRAFT_CHARS);
  if (!capped.text) return { status: 'not-drafted', reason: 'the drafting model returned no text' };
  const identifiers = identifiersInText(capped.text, record.patient);
  if (identifiers.length > 0) {
    return {
      status: 'not-drafted',
      reason: `draft refused: it contains a patient identifier (${identifiers.join(', ')})`,
    };
  }
  return {
    status: 'drafted',
    draft: {
      text: capped.text,
      truncated: result.truncated || capped.cut,
      modelName: result.modelName,
      modelVersion: result.modelVersion,
      modelSha256: result.modelSha256,
      patientId: record.patient.id ?? '',
      study,
      basis: image.sources,
      occurredAt: record.asOf,
      executionProvider: served.executionProvider,
      ...(options.traceId ? { traceId: options.traceId } : {}),
    },
  };
}
