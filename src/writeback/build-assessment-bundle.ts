import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Device, Reference, Resource } from '@medplum/fhirtypes';
import type { AssessmentResult } from '../contracts/assessment-result.js';
import type { ModelManifest } from '../contracts/manifest-types.js';
import { assessmentIdentity } from '../contracts/assessment-identity.js';
import { buildModelCard } from './build-model-card.js';
import { buildModelDevice } from './build-model-device.js';
import { buildProvenance } from './build-provenance.js';
import { buildRiskAssessment } from './build-risk-assessment.js';
import { tokenQuery } from './naming-systems.js';
import {
  buildImagingFinding,
  findingIdentity,
  IMAGING_FINDING_DISPLAY_PREFIX,
} from './build-imaging-finding.js';
import { segmentationUids, type SegmentationUids } from './build-segmentation.js';
import type { LocalisedAssessment } from './localised-findings.js';

/** What {@link buildAssessmentBundle} needs. */
export interface AssessmentBundleInput {
  result: AssessmentResult;
  manifest: ModelManifest;
  /** The model card Markdown (`models/<name>/<version>/card.md`). */
  cardMarkdown: string;
  /** The assessment this one supersedes, from {@link findPreviousAssessment}. */
  previous?: Reference;
  /** fhir-fusion's own version (Provenance software-version and assembler agent). */
  softwareVersion: string;
  /** The deployment's identifier system for assessment identities (RiskAssessment.identifier.system). */
  identifierSystem: string;
  /** Findings placed on the source image (`localisedFindings`): one imaging-finding Observation each. */
  localised?: LocalisedAssessment;
}

function entry(resource: Resource, fullUrl: string, ifNoneExist: string): BundleEntry {
  return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType, ifNoneExist } };
}

function firstIdentifier(resource: { identifier?: Array<{ system?: string; value?: string }> }): {
  system: string;
  value: string;
} {
  const id = resource.identifier?.[0];
  if (!id?.system || !id.value) throw new Error('built resource has no identifier');
  return { system: id.system, value: id.value };
}

/**
 * Builds ONE transaction Bundle (FHIR R4 §3.1.0.11) that records an assessment:
 * the model card DocumentReference, the model Device, the imaging-finding Observations of any
 * localised findings (issue #20), the RiskAssessment and its Provenance.
 * Entries cross-reference each other through `urn:uuid:` fullUrls, which the server replaces with
 * the ids it assigns (§3.1.0.11.2). Every entry is a conditional create (`ifNoneExist`, §3.1.0.8.1
 * / §2.21.0.6): on the assessment identity for the RiskAssessment (identifier) and the Provenance
 * (meta.tag, as R4 Provenance has no identifier), and on the content identities of the Device and
 * card — so posting the same bundle twice, or a retry after an unknown outcome, creates nothing new.
 * An AI-drafted description goes in its own transaction (`buildDraftBundle`).
 */
export function buildAssessmentBundle(input: AssessmentBundleInput): Bundle {
  const { result, manifest } = input;
  const identity = assessmentIdentity(result);
  const cardUrl = `urn:uuid:${randomUUID()}`;
  const deviceUrl = `urn:uuid:${randomUUID()}`;
  const riskUrl = `urn:uuid:${randomUUID()}`;
  const provenanceUrl = `urn:uuid:${randomUUID()}`;

  const card = buildModelCard({ manifest, cardMarkdown: input.cardMarkdown, date: result.occurredAt });
  const deviceRef: Reference<Device> = {
    reference: deviceUrl,
    display: `${manifest.title} ${manifest.version}`,
  };
  const device = buildModelDevice({
    manifest,
    modelSha256: result.modelSha256,
    card: { reference: cardUrl },
  });
  // Issue #20: one imaging-finding Observation per localised finding, in this same transaction,
  // named in the RiskAssessment's basis and the Provenance's targets.
  const localised = input.localised;
  const segmentation = localised ? segmentationUids(identity, localised.source.studyInstanceUid) : undefined;
  const findings = (localised && segmentation ? localised.findings : []).map((finding) => ({
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource: buildImagingFinding({
      finding,
      localised: localised as LocalisedAssessment,
      segmentation: segmentation as SegmentationUids,
      manifest,
      patientId: result.patientId,
      occurredAt: result.occurredAt,
      device: deviceRef,
      identifierSystem: input.identifierSystem,
      assessmentIdentity: identity,
    }),
    identity: findingIdentity(identity, finding),
  }));
  const riskAssessment = buildRiskAssessment({
    result,
    manifest,
    device: deviceRef,
    identifierSystem: input.identifierSystem,
    findings: findings.map((f) => ({
      reference: f.fullUrl,
      display: `${IMAGING_FINDING_DISPLAY_PREFIX}${f.resource.code?.text ?? ''}`,
    })),
  });
  const provenance = buildProvenance({
    result,
    target: { reference: riskUrl },
    otherTargets: findings.map((f) => ({ reference: f.fullUrl })),
    device: deviceRef,
    card: { reference: cardUrl },
    ...(input.previous ? { previous: input.previous } : {}),
    softwareVersion: input.softwareVersion,
    identifierSystem: input.identifierSystem,
    identity,
  });

  const cardId = firstIdentifier(card);
  const deviceId = firstIdentifier(device);
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      entry(card, cardUrl, tokenQuery('identifier', cardId.system, cardId.value)),
      entry(device, deviceUrl, tokenQuery('identifier', deviceId.system, deviceId.value)),
      ...findings.map((f) =>
        entry(f.resource, f.fullUrl, tokenQuery('identifier', input.identifierSystem, f.identity)),
      ),
      entry(riskAssessment, riskUrl, tokenQuery('identifier', input.identifierSystem, identity)),
      entry(provenance, provenanceUrl, tokenQuery('_tag', input.identifierSystem, identity)),
    ],
  };
}

// The pipeline looks for the previous assessment next to the bundle builder.
export { findPreviousAssessment } from './find-previous-assessment.js';
