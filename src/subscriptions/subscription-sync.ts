import type { MedplumClient } from '@medplum/core';
import type { Subscription } from '@medplum/fhirtypes';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { findSubscription, upsertSubscriptionSql } from '../store/subscriptions-repository.js';
import { advertisesBackport, discoverTopics, syncTopicSubscriptions } from './topic-subscription-sync.js';
import type { FhirVersionSetting } from '../config/config-schema.js';
import type { FhirRelease, ResolvedRelease } from './fhir-release.js';
import { readCapabilityStatement, resolveRelease } from './fhir-release.js';
import { discoverSubscriptionTopics } from './subscription-topics.js';
import type { WatchedResourceType } from '../intake/resource-subject.js';
import type { TopicContent } from './topic-subscription-resource.js';
import { WATCHED_RESOURCE_TYPES } from '../intake/resource-subject.js';
import { withoutTrailingSlash } from '../contracts/base-url.js';

/** Medplum's extension carrying the HMAC secret for `X-Signature`. */
export const MEDPLUM_SECRET_EXTENSION = 'https://medplum.com/fhir/StructureDefinition/subscription-secret';

/** One subscription fhir-fusion wants on the EHR. */
export interface DesiredSubscription {
  key: string;
  criteria: string;
}

/** The R4 criteria-based subscriptions fhir-fusion holds: one per watched resource type. */
export function desiredSubscriptions(): DesiredSubscription[] {
  return WATCHED_RESOURCE_TYPES.map((type) => ({ key: type.toLowerCase(), criteria: type }));
}

/** What `sync` did per subscription. */
export interface SyncResult {
  key: string;
  action: 'created' | 'updated';
  ehrSubscription: string;
  kind: 'rest-hook-criteria' | 'backport-topic' | 'polling';
  /** The EHR release the Subscription was registered for (absent for polling). */
  release?: FhirRelease;
}

/** How to subscribe (`SUBSCRIPTION_MODE`). */
export type SubscriptionMode = 'auto' | 'criteria' | 'topic' | 'polling';

/** Options of {@link syncSubscriptions}. */
export interface SyncOptions {
  client: MedplumClient;
  pool: Pool;
  publicUrl: string;
  desired?: DesiredSubscription[];
  /** Default `criteria` (the walking skeleton's behaviour); the CLI passes `SUBSCRIPTION_MODE`. */
  mode?: SubscriptionMode;
  /** `FHIR_VERSION` (default `auto`: read from the CapabilityStatement). */
  fhirVersion?: FhirVersionSetting;
  /** Heartbeat period asked of topic-based subscriptions, seconds. */
  heartbeatSeconds?: number;
  /** Payload content of topic-based subscriptions (default `id-only`). */
  content?: TopicContent;
}

/**
 * Registers fhir-fusion's subscriptions on the EHR, in the shape of its release (`FHIR_VERSION`,
 * or `CapabilityStatement.fhirVersion` when `auto`):
 * - `polling`: none (a `_lastUpdated` search per check);
 * - `criteria`: R4/R4B classic rest-hook Subscriptions — refused on R5, which has no criteria
 *   (R5 §Subscription: `topic` replaced `criteria`);
 * - `topic`: one topic-based Subscription per watched type whose topic the EHR publishes (R4:
 *   Backport IG `Basic` topics; R4B/R5: `SubscriptionTopic` resources);
 * - `auto`: `topic` where the EHR offers it (R4: advertises the Backport IG; R4B/R5: publishes a
 *   topic for a watched type), else `criteria` (R4, R4B) or `polling` (R5).
 */
export async function syncSubscriptions(options: SyncOptions): Promise<SyncResult[]> {
  const mode = options.mode ?? 'criteria';
  if (mode === 'polling') return [await syncPolling(options.pool)];
  const resolved = await resolveRelease(options.client, options.fhirVersion ?? 'auto');
  const { release } = resolved;
  if (mode === 'criteria') {
    if (release === 'R5') {
      throw new Error('R5 has no criteria-based Subscriptions (R5 §Subscription.topic); use SUBSCRIPTION_MODE=topic, auto or polling');
    }
    return syncCriteriaSubscriptions(options, release);
  }
  const topics = await topicsFor(options.client, resolved, mode === 'topic');
  if (topics.size > 0 || mode === 'topic') {
    return syncTopicSubscriptions({
      ...options,
      release,
      topics,
      heartbeatSeconds: options.heartbeatSeconds ?? 60,
      content: options.content ?? 'id-only',
    });
  }
  return release === 'R5' ? [await syncPolling(options.pool)] : syncCriteriaSubscriptions(options, release);
}

/** The topics to subscribe to per watched type, where the release offers topic-based subscriptions. */
async function topicsFor(client: MedplumClient, resolved: ResolvedRelease, forced: boolean): Promise<Map<WatchedResourceType, string>> {
  if (resolved.release !== 'R4') return discoverSubscriptionTopics(client);
  // R4: only a server advertising the Backport IG has topic-based subscriptions (unless forced).
  if (!forced && !advertisesBackport(resolved.statement ?? (await readCapabilityStatement(client)))) return new Map();
  return discoverTopics(client);
}

/** Registers the polling pseudo-subscription: no EHR subscription, a `_lastUpdated` search per check. */
async function syncPolling(pool: Pool): Promise<SyncResult> {
  const existing = await findSubscription(pool, POLLING_KEY);
  const sql = upsertSubscriptionSql({
    key: POLLING_KEY,
    kind: 'polling',
    criteria: WATCHED_RESOURCE_TYPES.join(','),
    secret: existing?.secret ?? randomBytes(32).toString('hex'),
    status: 'active',
  });
  await pool.query(sql.text, sql.values);
  return { key: POLLING_KEY, action: existing ? 'updated' : 'created', ehrSubscription: '', kind: 'polling' };
}

/** Key of the polling pseudo-subscription. */
export const POLLING_KEY = 'poll';

/**
 * Creates or updates, idempotently, the classic rest-hook Subscriptions (FHIR R4 §Subscription, the
 * same resource in R4B: criteria, channel.type rest-hook, endpoint, payload application/fhir+json,
 * channel.header). The endpoint carries the subscription key; the secret is sent both as
 * `Authorization: Bearer` via `channel.header` and as Medplum's HMAC secret extension, so either
 * style of server authenticates its notifications. Secrets are kept, not rotated, on re-sync.
 */
async function syncCriteriaSubscriptions(options: SyncOptions, release: FhirRelease): Promise<SyncResult[]> {
  const results: SyncResult[] = [];
  for (const want of options.desired ?? desiredSubscriptions()) {
    const existingRow = await findSubscription(options.pool, want.key);
    const secret = existingRow?.secret ?? randomBytes(32).toString('hex');
    const endpoint = `${withoutTrailingSlash(options.publicUrl)}/intake/${want.key}`;
    const resource: Subscription = {
      resourceType: 'Subscription',
      status: 'requested',
      reason: `fhir-fusion: assess patients when a ${want.criteria} changes`,
      criteria: want.criteria,
      channel: {
        type: 'rest-hook',
        endpoint,
        payload: 'application/fhir+json',
        header: [`Authorization: Bearer ${secret}`],
      },
      extension: [{ url: MEDPLUM_SECRET_EXTENSION, valueString: secret }],
    };
    const found = await options.client.searchResources('Subscription', { url: endpoint });
    const current = found[0];
    const saved = current
      ? await options.client.updateResource<Subscription>({ ...resource, id: current.id, status: current.status === 'active' ? 'active' : 'requested' })
      : await options.client.createResource<Subscription>(resource);
    const sql = upsertSubscriptionSql({
      key: want.key,
      ehrSubscription: saved.id,
      kind: 'rest-hook-criteria',
      criteria: want.criteria,
      secret,
      status: saved.status,
    });
    await options.pool.query(sql.text, sql.values);
    results.push({ key: want.key, action: current ? 'updated' : 'created', ehrSubscription: saved.id ?? '', kind: 'rest-hook-criteria', release });
  }
  return results;
}
