import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Device, Reference, Resource } from '@medplum/fhirtypes';
import { buildModelCard } from './build-model-card.js';
import { buildModelDevice } from './build-model-device.js';
import { buildDraftProvenance } from './build-draft-provenance.js';
import type { DraftedDescription, DraftingModelDescription } from './build-draft-report.js';
import { buildDraftReport, draftIdentity } from './build-draft-report.js';
import { tokenQuery } from './naming-systems.js';

/** What {@link buildDraftEntries} needs: the draft, the model that wrote it, and the deployment's identity system. */
export interface DraftEntriesInput {
  draft: DraftedDescription;
  model: DraftingModelDescription;
  softwareVersion: string;
  identifierSystem: string;
  /** When the draft was made (DiagnosticReport.issued, Provenance.recorded). */
  issued: string;
}

function conditionalCreate(resource: Resource, fullUrl: string, ifNoneExist: string): BundleEntry {
  return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType, ifNoneExist } };
}

function identifierQuery(resource: { identifier?: Array<{ system?: string; value?: string }> }): string {
  const id = resource.identifier?.[0];
  if (!id?.system || !id.value) throw new Error('built resource has no identifier');
  return tokenQuery('identifier', id.system, id.value);
}

/**
 * The transaction entries (FHIR R4 §3.1.0.11) that record one AI-drafted description: the drafting
 * model's card DocumentReference and Device, the preliminary DiagnosticReport and its Provenance.
 * Each is a conditional create (§3.1.0.8.1): the report on its draft identity (identifier), the
 * Provenance on the same identity (`_tag`), the Device and card on their content identities. A
 * conditional create that matches changes nothing, so a report a clinician has since accepted
 * (`final`, same identifier) or rejected is never overwritten by a retried or repeated write.
 */
export function buildDraftEntries(input: DraftEntriesInput): BundleEntry[] {
  const { draft, model } = input;
  const cardUrl = `urn:uuid:${randomUUID()}`;
  const deviceUrl = `urn:uuid:${randomUUID()}`;
  const reportUrl = `urn:uuid:${randomUUID()}`;
  const provenanceUrl = `urn:uuid:${randomUUID()}`;
  const card = buildModelCard({
    manifest: model.manifest,
    cardMarkdown: model.cardMarkdown,
    date: input.issued,
  });
  const device = buildModelDevice({
    manifest: {
      ...model.manifest,
      preprocessing: Object.fromEntries(model.modalities.map((m) => [m, true])),
    },
    modelSha256: draft.modelSha256,
    card: { reference: cardUrl },
  });
  const deviceRef: Reference<Device> = {
    reference: deviceUrl,
    display: `${model.manifest.title} ${model.manifest.version}`,
  };
  const report = buildDraftReport({
    draft,
    model,
    identifierSystem: input.identifierSystem,
    issued: input.issued,
  });
  const provenance = buildDraftProvenance({
    draft,
    target: { reference: reportUrl },
    device: deviceRef,
    card: { reference: cardUrl },
    softwareVersion: input.softwareVersion,
    identifierSystem: input.identifierSystem,
    recorded: input.issued,
  });
  const identity = draftIdentity(draft);
  return [
    conditionalCreate(card, cardUrl, identifierQuery(card)),
    conditionalCreate(device, deviceUrl, identifierQuery(device)),
    conditionalCreate(report, reportUrl, tokenQuery('identifier', input.identifierSystem, identity)),
    conditionalCreate(provenance, provenanceUrl, tokenQuery('_tag', input.identifierSystem, identity)),
  ];
}

/**
 * The draft's own transaction Bundle ({@link buildDraftEntries}), written after the assessment's.
 * Not in the assessment's transaction: a transaction of conditional creates needs serializable
 * isolation, and servers bound its size (Medplum refuses more than 8 entries: "Transaction requires
 * strict isolation but has too many entries"); the assessment with its localised findings already
 * takes up to 6. Every entry is a conditional create on the draft identity, so writing it again
 * after a retry changes nothing.
 */
export function buildDraftBundle(input: DraftEntriesInput): Bundle {
  return { resourceType: 'Bundle', type: 'transaction', entry: buildDraftEntries(input) };
}
