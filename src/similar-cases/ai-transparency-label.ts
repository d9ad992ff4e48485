import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, Device, DocumentReference } from '@medplum/fhirtypes';
import type { EmbeddingModelManifest } from '../inference/manifest/embedding-manifest.js';
import {
  AIAST,
  INLINE_SECURITY_LABEL_EXTENSION,
  PROCESS_INLINE_LABEL,
  structureDefinitionUrl,
} from '../contracts/fusion-terminology.js';
import { buildModelCard } from '../writeback/build-model-card.js';
import { buildModelDevice } from '../writeback/build-model-device.js';

/** Profile of the `$similar-cases` / `$similar-ecgs` answer (`fhir-profiles/StructureDefinition`). */
export const SIMILAR_CASES_BUNDLE_PROFILE = structureDefinitionUrl('FusionSimilarCasesBundle');

/** The embedding model as FHIR: its Device and model card, with the `urn:uuid:` each answer uses. */
export interface EmbeddingModelResources {
  device: Device;
  card: DocumentReference;
  deviceUrl: string;
  cardUrl: string;
}

/**
 * One sha256 for the two encoder graphs, so the Device identity (`name:version:sha256`, as a risk
 * model's is of its `model.onnx`) changes with either set of weights and not with a card edit:
 * sha256 over `file=sha256` lines of the encoder files, sorted by file name.
 */
export function encodersSha256(manifest: EmbeddingModelManifest): string {
  const files = [manifest.encoders.ecg.file, manifest.encoders.text.file].sort();
  const lines = files.map((file) => `${file}=${manifest.files[file] ?? ''}\n`).join('');
  return createHash('sha256').update(lines, 'utf8').digest('hex');
}

/**
 * The embedding model's Device (FusionModelDevice, after the AI Transparency IG's AI Device: type
 * Artificial-Intelligence, AIKind, modelCardDescription) and its card (FusionModelCard, after the
 * IG's AI Model-Card DocumentReference), built once when the model is loaded. `urn:uuid:` fullUrls
 * derived from the identities keep the answers byte-stable between requests.
 */
export function describeEmbeddingModel(
  manifest: EmbeddingModelManifest,
  cardMarkdown: string,
  loadedAt: string,
): EmbeddingModelResources {
  const digest = encodersSha256(manifest);
  const uuid = (kind: string) => {
    const h = createHash('sha256')
      .update(`${kind}:${manifest.name}:${manifest.version}:${digest}`)
      .digest('hex');
    return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const cardUrl = uuid('card');
  return {
    card: buildModelCard({ manifest, cardMarkdown, date: loadedAt }),
    device: buildModelDevice({ manifest, modelSha256: digest, card: { reference: cardUrl } }),
    deviceUrl: uuid('device'),
    cardUrl,
  };
}

/**
 * Labels a similar-case answer as the HL7 AI Transparency IG asks of AI output ("Tagging" and
 * "Models" observability levels):
 * - `Bundle.meta.security` AIAST: the selection and ranking of the result set is asserted by the
 *   model; and PROCESSINLINELABEL, because the labels below are inline (DS4P inline security labels,
 *   the IG's element-level tagging);
 * - every match's `entry.search` (its rank and `score`) carries the inline label AIAST. The
 *   DiagnosticReports themselves are the EHR's, written by people: labelling them AIAST would claim
 *   the AI asserted their content, so they are returned untouched;
 * - the model's Device and card as `include` entries, the Device referencing the card through the
 *   IG's modelCardDescription extension, so a client sees which model (name, version, weights) ranked
 *   the cases and can read its card.
 *
 * No Provenance: the IG's AI Provenance names the resources an AI created as its `target`, and a
 * searchset is computed per request and stored nowhere, so there is nothing a Provenance could point
 * at; the Device entry carries the same "which model" answer.
 */
export function labelSimilarCases(bundle: Bundle, model: EmbeddingModelResources): Bundle {
  const matches: BundleEntry[] = (bundle.entry ?? []).map((entry) => ({
    ...entry,
    search: {
      ...entry.search,
      extension: [{ url: INLINE_SECURITY_LABEL_EXTENSION, valueCoding: AIAST }],
    },
  }));
  return {
    ...bundle,
    meta: {
      ...bundle.meta,
      profile: [SIMILAR_CASES_BUNDLE_PROFILE],
      security: [AIAST, PROCESS_INLINE_LABEL],
    },
    entry: [
      ...matches,
      { fullUrl: model.deviceUrl, resource: model.device, search: { mode: 'include' } },
      { fullUrl: model.cardUrl, resource: model.card, search: { mode: 'include' } },
    ],
  };
}
