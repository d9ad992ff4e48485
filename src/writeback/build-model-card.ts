import { createHash } from 'node:crypto';
import type { DocumentReference } from '@medplum/fhirtypes';
import type { ModelManifestHeader } from '../contracts/manifest-types.js';
import {
  AI_MODEL_CARD_MARKDOWN,
  AI_MODEL_CARD_TYPE,
  CODE_SYSTEMS,
  PROFILE_URLS,
} from '../contracts/fusion-terminology.js';
import { IDENTIFIER_SYSTEMS } from './naming-systems.js';

/** `name:version:sha256-of-card` — an edited card gets a new DocumentReference. */
export function modelCardIdentityValue(manifest: Pick<ModelManifestHeader, 'name' | 'version'>, cardMarkdown: string): string {
  const digest = createHash('sha256').update(cardMarkdown, 'utf8').digest('hex');
  return `${manifest.name}:${manifest.version}:${digest}`;
}

/**
 * The model card as a FusionModelCard DocumentReference, which follows the HL7 AI Transparency on
 * FHIR "AI Model-Card DocumentReference" profile: type `AIinputsCS#AIModelCard`, category
 * `AIinputsCS#AIModelCardMarkdownFormat` (the profile's `AImodelCardMD` slice: the card is
 * Markdown), the Markdown inline in a `text/markdown` attachment (its `MarkdownFormat` content slice),
 * base64, with its size and SHA-1 as FHIR R4 Attachment requires (`Attachment.hash` is the base64
 * SHA-1 of the data).
 */
export function buildModelCard(input: {
  manifest: Pick<ModelManifestHeader, 'name' | 'version' | 'title'>;
  cardMarkdown: string;
  date: string;
}): DocumentReference {
  const { manifest, cardMarkdown } = input;
  const bytes = Buffer.from(cardMarkdown, 'utf8');
  return {
    resourceType: 'DocumentReference',
    meta: { profile: [PROFILE_URLS.DocumentReference] },
    identifier: [
      {
        type: {
          coding: [
            { system: CODE_SYSTEMS.identifierType, code: 'model-card', display: 'Model card identity' },
          ],
        },
        system: IDENTIFIER_SYSTEMS.modelCard,
        value: modelCardIdentityValue(manifest, cardMarkdown),
      },
    ],
    status: 'current',
    docStatus: 'final',
    type: { coding: [AI_MODEL_CARD_TYPE], text: 'AI model card' },
    category: [{ coding: [AI_MODEL_CARD_MARKDOWN], text: 'Model card in Markdown' }],
    date: input.date,
    description: `Model card: ${manifest.title} ${manifest.version}`,
    content: [
      {
        attachment: {
          contentType: 'text/markdown',
          language: 'en',
          data: bytes.toString('base64'),
          size: bytes.length,
          hash: createHash('sha1').update(bytes).digest('base64'),
          title: `${manifest.name} ${manifest.version} model card`,
        },
      },
    ],
  };
}
