import type { MedplumClient } from '@medplum/core';
import type { Basic, CapabilityStatement, Extension, Subscription } from '@medplum/fhirtypes';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { findSubscription, upsertSubscriptionSql } from '../store/subscriptions-repository.js';
import { WATCHED_RESOURCE_TYPES } from '../intake/resource-subject.js';
import type { WatchedResourceType } from '../intake/resource-subject.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';

/** Canonical of the Subscriptions R5 Backport IG. */
export const BACKPORT_IG = 'http://hl7.org/fhir/uv/subscriptions-backport';
const SD = `${BACKPORT_IG}/StructureDefinition`;
/** Profile of a topic-based R4 Subscription (Backport IG `backport-subscription`). */
export const BACKPORT_SUBSCRIPTION_PROFILE = `${SD}/backport-subscription`;
const TOPIC_EXT = ['http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic', 'http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic'];

/**
 * Whether the server advertises the Backport IG (IG §Capability: `CapabilityStatement.instantiates`
 * / `implementationGuide` naming the IG, or Subscription `supportedProfile` naming
 * `backport-subscription`).
 */
export async function supportsBackport(client: MedplumClient): Promise<boolean> {
  const statement = (await client.get(client.fhirUrl('metadata'), { cache: 'no-cache' })) as CapabilityStatement;
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
 * The SubscriptionTopics the server publishes for the watched types, from their R4 `Basic`
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
}

/**
 * Creates or updates, idempotently, one Backport IG topic-based Subscription per watched type
 * whose topic the server publishes: profile `backport-subscription`, `criteria` = topic
 * canonical, rest-hook channel with `backport-heartbeat-period` and `backport-payload-content`,
 * the secret in `channel.header`. Our row (with the secret) is written first, so the handshake
 * the server sends while creating it authenticates.
 */
export async function syncTopicSubscriptions(options: {
  client: MedplumClient;
  pool: Pool;
  publicUrl: string;
  heartbeatSeconds: number;
  content: 'empty' | 'id-only' | 'full-resource';
}): Promise<TopicSyncResult[]> {
  const topics = await discoverTopics(options.client);
  const results: TopicSyncResult[] = [];
  for (const [type, topic] of topics) {
    const key = `${type.toLowerCase()}-topic`;
    const existingRow = await findSubscription(options.pool, key);
    const secret = existingRow?.secret ?? randomBytes(32).toString('hex');
    const endpoint = `${withoutTrailingSlash(options.publicUrl)}/intake/${key}`;
    const found = await options.client.searchResources('Subscription', { url: endpoint }, { cache: 'no-cache' });
    const current = found[0];
    const row = (ehrSubscription: string | undefined, status: string) =>
      upsertSubscriptionSql({ key, ehrSubscription, kind: 'backport-topic', criteria: type, secret, status, topic, heartbeatPeriodS: options.heartbeatSeconds });
    const before = row(current?.id, existingRow?.status ?? 'requested');
    await options.pool.query(before.text, before.values);
    const resource: Subscription = {
      resourceType: 'Subscription',
      meta: { profile: [BACKPORT_SUBSCRIPTION_PROFILE] },
      status: 'requested',
      reason: `fhir-fusion: assess patients when a ${type} changes`,
      criteria: topic,
      channel: {
        type: 'rest-hook',
        endpoint,
        payload: 'application/fhir+json',
        header: [`Authorization: Bearer ${secret}`],
        extension: [{ url: `${SD}/backport-heartbeat-period`, valueUnsignedInt: options.heartbeatSeconds }],
        _payload: { extension: [{ url: `${SD}/backport-payload-content`, valueCode: options.content }] },
      } as Subscription['channel'],
    };
    const saved = current
      ? await options.client.updateResource<Subscription>({ ...resource, id: current.id })
      : await options.client.createResource<Subscription>(resource);
    const after = row(saved.id, saved.status);
    await options.pool.query(after.text, after.values);
    results.push({ key, action: current ? 'updated' : 'created', ehrSubscription: saved.id ?? '', kind: 'backport-topic' });
  }
  return results;
}
