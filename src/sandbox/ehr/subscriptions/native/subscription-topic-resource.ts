import type { SandboxTopic } from '../backport/sandbox-topics.js';

/** An R4B/R5 SubscriptionTopic resource (R5 §SubscriptionTopic), the elements the sandbox fills. */
export interface SubscriptionTopicResource {
  resourceType: 'SubscriptionTopic';
  id: string;
  url: string;
  title: string;
  status: 'active';
  resourceTrigger: Array<{ description: string; resource: string; supportedInteraction: string[] }>;
  canFilterBy: Array<{ resource: string; filterParameter: string }>;
  notificationShape: Array<{ resource: string; include: string[] }>;
}

/**
 * A sandbox topic as the R4B/R5 `SubscriptionTopic` resource it stands for: `resourceTrigger` with
 * the triggering type's StructureDefinition canonical and interactions, `canFilterBy`, and
 * `notificationShape.include` (what is sent as additional context). R4 servers publish the same
 * content as `Basic` ({@link topicAsBasic}).
 */
export function topicAsSubscriptionTopic(topic: SandboxTopic): SubscriptionTopicResource {
  return {
    resourceType: 'SubscriptionTopic',
    id: topic.url.slice(topic.url.lastIndexOf('/') + 1),
    url: topic.url,
    title: topic.title,
    status: 'active',
    resourceTrigger: [
      {
        description: topic.title,
        resource: `http://hl7.org/fhir/StructureDefinition/${topic.resourceType}`,
        supportedInteraction: [...topic.interactions],
      },
    ],
    canFilterBy: topic.canFilterBy.map((filterParameter) => ({
      resource: topic.resourceType,
      filterParameter,
    })),
    notificationShape: [{ resource: topic.resourceType, include: [topic.include] }],
  };
}
