import type { MedplumClient } from '@medplum/core';
import type { Basic, CapabilityStatement, Extension, Subscription } from '@medplum/fhirtypes';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { findSubscription, upsertSubscriptionSql } from '../store/subscriptions-repository.js';
import { WATCHED_RESOURCE_TYPES } from '../intake/resource-subject.js';
import type { WatchedResourceType } from '../intake/resource-subject.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';
import type { FhirRelease } from './fhir-release.js';
import type { TopicContent } from './topic-subscription-resource.js';
import { BACKPORT_IG, BACKPORT_SUBSCRIPTION_PROFILE, backportSubscriptionResource, r5SubscriptionResource } from './topic-subscription-resource.js';

export { BACKPORT_IG, BACKPORT_SUBSCRIPTION_PROFILE } from './topic-subscription-resource.js';

const TOPIC_EXT = ['http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic', 'http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic'];

/**
 * Whether the server advertises the Backport IG (IG §Capability: `CapabilityStatement.instantiates`
 * / `implementationGuide` naming the IG, or Subscription `supportedProfile` naming
 * `backport-subscription`).
 */
export function advertisesBackport(statement: CapabilityStatement): boolean {
  const mentions = (values: readonly string[] | undefined): boolean => (values ?? []).some((v) => v.startsWith(BACKPORT_IG));
  if (mentions(statement.instantiates) || mentions(statement.implementationGuide)) return true;
  return (statement.rest ?? []).some((rest) =>
    (rest.resource ?? []).some((r) => r.type === 'Subscription' && (r.supportedProfile ?? []).includes(BACKPORT_SUBSCRIPTION_PROFILE)),
  );
}

function topicExtension(extensions: readonly Extension[] | undefined, name: string): Extension | undefined {
  return extensions?.find((e) => TOPIC_EXT.some((base) => e.url === `${base}.${name}`));
}

/**
 * The SubscriptionTopics an R4 server publishes for the watched types, from their `Basic`
 * representation (Backport IG §R4 topics: `Basic?code=SubscriptionTopic`, cross-version
 * extensions `url` and `resourceTrigger.resource`).
 */
export async function discoverTopics(client: MedplumClient): Promise<Map<WatchedResourceType, string>> {
  const basics = await client.searchResources('Basic', { code: 'SubscriptionTopic', _count: '100' }, { cache: 'no-cache' });
  const topics = new Map<WatchedResourceType, string>();
  for (const basic of basics as Basic[]) {
    const url = topicExtension(basic.extension, 'url')?.valueUri;
    const trigger = topicExtension(basic.extension, 'resourceTrigger');
    const resource = trigger?.extension?.find((e) => e.url === 'resource')?.valueUri ?? '';
    const type = WATCHED_RESOURCE_TYPES.find((t) => resource === t || resource.endsWith(`/${t}`));
    if (url && type && !topics.has(type)) topics.set(type, url);
  }
  return topics;
}

/** One synced topic subscription. */
export interface TopicSyncResult {
  key: string;
  action: 'created' | 'updated';
  ehrSubscription: string;
  kind: 'backport-topic';
  /** The release whose Subscription shape was registered. */
  release: FhirRelease;
}

/**
 * Creates or updates, idempotently, one topic-based Subscription per watched type whose topic the
 * server publishes, in the shape of the EHR's release: R4 and R4B get the Backport IG's profiled
 * Subscription, R5 the native one (see topic-subscription-resource.ts). Our row (with the secret)
 * is written first, so the handshake the server sends while creating it authenticates (R5
 * §subscriptions.html "Handshake": the server sends it before the Subscription goes `active`).
 */
export async function syncTopicSubscriptions(options: {
  client: MedplumClient;
  pool: Pool;
  publicUrl: string;
  heartbeatSeconds: number;
  content: TopicContent;
  release: FhirRelease;
  topics: ReadonlyMap<WatchedResourceType, string>;
}): Promise<TopicSyncResult[]> {
  const results: TopicSyncResult[] = [];
  for (const [type, topic] of options.topics) {
    const key = `${type.toLowerCase()}-topic`;
    const existingRow = await findSubscription(options.pool, key);
    const secret = existingRow?.secret ?? randomBytes(32).toString('hex');
    const endpoint = `${withoutTrailingSlash(options.publicUrl)}/intake/${key}`;
    // `url` searches channel.endpoint in R4/R4B and Subscription.endpoint in R5: the same question.
    const found = await options.client.searchResources('Subscription', { url: endpoint }, { cache: 'no-cache' });
    const current = found[0];
    const row = (ehrSubscription: string | undefined, status: string) =>
      upsertSubscriptionSql({ key, ehrSubscription, kind: 'backport-topic', criteria: type, secret, status, topic, heartbeatPeriodS: options.heartbeatSeconds });
    const before = row(current?.id, existingRow?.status ?? 'requested');
    await options.pool.query(before.text, before.values);
    const spec = { type, topic, endpoint, secret, heartbeatSeconds: options.heartbeatSeconds, content: options.content };
    // The R5 resource is not an R4 Subscription; the client only moves JSON, so the cast is safe.
    const resource = (options.release === 'R5' ? r5SubscriptionResource(spec) : backportSubscriptionResource(spec)) as Subscription;
    const saved = current
      ? await options.client.updateResource<Subscription>({ ...resource, id: current.id })
      : await options.client.createResource<Subscription>(resource);
    const after = row(saved.id, saved.status);
    await options.pool.query(after.text, after.values);
    results.push({ key, action: current ? 'updated' : 'created', ehrSubscription: saved.id ?? '', kind: 'backport-topic', release: options.release });
  }
  return results;
}
