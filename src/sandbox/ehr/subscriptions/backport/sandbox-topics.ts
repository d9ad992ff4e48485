import type { Basic, Extension } from '@medplum/fhirtypes';

/** A SubscriptionTopic the sandbox offers, in the subset of R5 semantics it implements. */
export interface SandboxTopic {
  /** Canonical URL (what a backport Subscription puts in `criteria`). */
  url: string;
  /** Short title. */
  title: string;
  /** The resource type whose writes trigger the topic. */
  resourceType: 'Observation' | 'DiagnosticReport' | 'ImagingStudy';
  /** Interactions that trigger it (R5 SubscriptionTopic.resourceTrigger.supportedInteraction). */
  interactions: ReadonlyArray<'create' | 'update'>;
  /** Search parameters a Subscription may filter on (R5 SubscriptionTopic.canFilterBy). */
  canFilterBy: readonly string[];
  /**
   * Search parameter whose referenced resource is sent as `additional-context`
   * (R5 SubscriptionTopic.notificationShape.include, e.g. `Observation:subject`).
   */
  include: string;
}

const TOPIC_BASE = 'https://fhir-fusion.dev/fhir/SubscriptionTopic';

/**
 * The topics, configured in code (the sandbox has no SubscriptionTopic resource in R4); each is
 * also written to the repository as a `Basic` resource in the Backport IG's R4 representation
 * (see {@link topicAsBasic}) so clients can discover them with `GET Basic?code=SubscriptionTopic`.
 */
export const SANDBOX_TOPICS: readonly SandboxTopic[] = [
  {
    url: `${TOPIC_BASE}/observation-create-or-update`,
    title: 'Observation created or updated',
    resourceType: 'Observation',
    interactions: ['create', 'update'],
    canFilterBy: ['patient', 'subject', 'code', 'category', 'status'],
    include: 'Observation:subject',
  },
  {
    url: `${TOPIC_BASE}/diagnosticreport-create-or-update`,
    title: 'DiagnosticReport created or updated',
    resourceType: 'DiagnosticReport',
    interactions: ['create', 'update'],
    canFilterBy: ['patient', 'subject', 'code', 'category', 'status'],
    include: 'DiagnosticReport:subject',
  },
  {
    url: `${TOPIC_BASE}/imagingstudy-create-or-update`,
    title: 'ImagingStudy created or updated',
    resourceType: 'ImagingStudy',
    interactions: ['create', 'update'],
    canFilterBy: ['patient', 'subject', 'modality', 'status'],
    include: 'ImagingStudy:subject',
  },
];

const R5 = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic';
const R43 = 'http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic';

/**
 * The Backport IG's R4 representation of a SubscriptionTopic as `Basic` (cross-version
 * extensions; shape of the IG example `Basic-r4-encounter-complete`).
 */
export function topicAsBasic(topic: SandboxTopic, id: string): Basic {
  const trigger: Extension = {
    url: `${R43}.resourceTrigger`,
    extension: [
      { url: 'description', valueMarkdown: topic.title },
      { url: 'resource', valueUri: `http://hl7.org/fhir/StructureDefinition/${topic.resourceType}` },
      ...topic.interactions.map((code) => ({ url: 'supportedInteraction', valueCode: code })),
    ],
  };
  const canFilterBy: Extension[] = topic.canFilterBy.map((parameter) => ({
    url: `${R43}.canFilterBy`,
    extension: [
      { url: 'resource', valueUri: topic.resourceType },
      { url: 'filterParameter', valueString: parameter },
    ],
  }));
  return {
    resourceType: 'Basic',
    id,
    modifierExtension: [{ url: `${R5}.status`, valueCode: 'active' }],
    extension: [
      { url: `${R5}.url`, valueUri: topic.url },
      { url: `${R5}.title`, valueString: topic.title },
      trigger,
      ...canFilterBy,
      {
        url: `${R43}.notificationShape`,
        extension: [
          { url: 'resource', valueUri: topic.resourceType },
          { url: 'include', valueString: topic.include },
        ],
      },
    ],
    code: { coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] },
  };
}
