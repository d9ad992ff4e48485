import type { Device, Observation, Reference } from '@medplum/fhirtypes';
import { AIAST, PROFILE_URLS } from '../contracts/fusion-terminology.js';
import type { ModelManifest } from '../contracts/manifest-types.js';
import { versionedReferenceString } from '../contracts/assessment-identity.js';
import type { SegmentationUids } from './build-segmentation.js';
import type { LocalisedAssessment, LocalisedFinding } from './localised-findings.js';
import { roundProbability } from './fhir-codings.js';
import { trainingDataNote } from './build-model-device.js';

/**
 * How the RiskAssessment's `basis` names a localised finding (`Reference.display`), so a reader of
 * the RiskAssessment alone (the CDS card) knows which basis entries are findings, not inputs.
 */
export const IMAGING_FINDING_DISPLAY_PREFIX = 'AI imaging finding: ';

/** R4 observation-category (Observation.category). */
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** The identity of one localised finding: the assessment's, and the finding's key within it. */
export function findingIdentity(assessmentIdentity: string, finding: Pick<LocalisedFinding, 'key'>): string {
  return `${assessmentIdentity}/finding/${finding.key}`;
}

function escapeXhtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The FusionImagingFinding Observation of one localised finding (issue #20, after IHE AI
 * Results): `status` preliminary (an AI finding no clinician has verified), category `imaging`,
 * `code` the finding (SNOMED CT), subject, `effectiveDateTime` when the model ran, `derivedFrom`
 * the ImagingStudy version the source image came from, `device` the model, AIAST in
 * `meta.security`. Where the region is:
 * - `identifier` `urn:dicom:uid` | `urn:oid:<SEG SOP Instance UID>` — the R4 way to carry a DICOM
 *   UID (R4 §2.24.0.1 "uri": OIDs as `urn:oid:`; `urn:dicom:uid` is the identifier system
 *   ImagingStudy.identifier uses for the Study Instance UID); `derivedFrom` cannot point at a
 *   DICOM instance, only at FHIR resources, and the SEG has no ImagingStudy of its own until the
 *   EHR indexes the PACS;
 * - `note`: the SEG's Study, Series and SOP Instance UIDs and segment number in plain text, for a
 *   chart that shows only text, plus that it is model attention (not a diagnosis) and the
 *   training-data statement.
 */
export function buildImagingFinding(input: {
  finding: LocalisedFinding;
  localised: LocalisedAssessment;
  segmentation: SegmentationUids;
  manifest: ModelManifest;
  patientId: string;
  occurredAt: string;
  device: Reference<Device>;
  identifierSystem: string;
  assessmentIdentity: string;
}): Observation {
  const { finding, segmentation, manifest } = input;
  const study = input.localised.source.imagingStudy;
  const where =
    `DICOM Segmentation: Study Instance UID ${segmentation.studyInstanceUid}, Series Instance UID ` +
    `${segmentation.seriesInstanceUid}, SOP Instance UID ${segmentation.sopInstanceUid}, segment ${finding.segmentNumber}.`;
  const what = finding.outcome
    ? `Region the model ${manifest.title} ${manifest.version} attended to for ${finding.outcome.display} ` +
      `(probability ${roundProbability(finding.probability)}): model attention, not a diagnosis.`
    : `Region where the model ${manifest.title} ${manifest.version} located ${finding.finding.display} ` +
      `(probability present ${roundProbability(finding.probability)}): an AI finding for review, not a diagnosis.`;
  return {
    resourceType: 'Observation',
    meta: { profile: [PROFILE_URLS.ImagingFinding], security: [AIAST] },
    text: {
      status: 'generated',
      div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>AI-localised finding: ${escapeXhtml(finding.finding.display)}.</p><p>${escapeXhtml(what)}</p><p>${escapeXhtml(where)}</p></div>`,
    },
    identifier: [
      { system: input.identifierSystem, value: findingIdentity(input.assessmentIdentity, finding) },
      { system: 'urn:dicom:uid', value: `urn:oid:${segmentation.sopInstanceUid}` },
    ],
    status: 'preliminary',
    category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'imaging', display: 'Imaging' }] }],
    code: {
      coding: [
        { system: 'http://snomed.info/sct', code: finding.finding.code, display: finding.finding.display },
      ],
      text: finding.finding.display,
    },
    subject: { reference: `Patient/${input.patientId}` },
    effectiveDateTime: input.occurredAt,
    device: input.device,
    derivedFrom: [{ reference: versionedReferenceString(study) }],
    note: [{ text: what }, { text: where }, { text: trainingDataNote(manifest) }],
  };
}
