import type { MedplumClient } from '@medplum/core';
import { WATCHED_RESOURCE_TYPES } from '../intake/resource-subject.js';
import type { WatchedResourceType } from '../intake/resource-subject.js';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The watched type a `resourceTrigger.resource` uri names (`Observation` or its StructureDefinition URL). */
function watchedTypeOf(resource: unknown): WatchedResourceType | undefined {
  if (typeof resource !== 'string') return undefined;
  return WATCHED_RESOURCE_TYPES.find((t) => resource === t || resource.endsWith(`/StructureDefinition/${t}`));
}

/**
 * The topic to use per watched type, from `SubscriptionTopic` resources (R4B and R5
 * §SubscriptionTopic: `url`, `status`, `resourceTrigger[].resource` — a type name or a
 * StructureDefinition canonical). Retired topics are skipped; the first active one per type wins,
 * so a server's own ordering decides between equivalent topics.
 */
export function topicsByWatchedType(topics: readonly unknown[]): Map<WatchedResourceType, string> {
  const byType = new Map<WatchedResourceType, string>();
  for (const topic of topics) {
    if (!isObject(topic) || topic.resourceType !== 'SubscriptionTopic' || typeof topic.url !== 'string')
      continue;
    if (topic.status === 'retired') continue;
    const triggers = Array.isArray(topic.resourceTrigger) ? topic.resourceTrigger : [];
    for (const trigger of triggers) {
      const type = isObject(trigger) ? watchedTypeOf(trigger.resource) : undefined;
      if (type && !byType.has(type)) byType.set(type, topic.url);
    }
  }
  return byType;
}

/**
 * The SubscriptionTopics an R4B/R5 server publishes, by searching `GET [base]/SubscriptionTopic`
 * (R4B and R5 have the resource; the Backport IG's R4B server CapabilityStatement
 * `backport-subscription-server` makes SubscriptionTopic search a SHALL, and R5 servers publish
 * their topics the same way). The R4 form (topics as `Basic`) is read by `discoverTopics` instead.
 */
export async function discoverSubscriptionTopics(
  client: MedplumClient,
): Promise<Map<WatchedResourceType, string>> {
  const url = client.fhirUrl('SubscriptionTopic');
  url.searchParams.set('_count', '100');
  const bundle: unknown = await client.get(url, { cache: 'no-cache' });
  const entries = isObject(bundle) && Array.isArray(bundle.entry) ? bundle.entry : [];
  return topicsByWatchedType(entries.map((e: unknown) => (isObject(e) ? e.resource : undefined)));
}
