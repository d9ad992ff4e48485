import type { MedplumClient } from '@medplum/core';
import type { Subscription } from '@medplum/fhirtypes';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { findSubscription, upsertSubscriptionSql } from '../store/subscriptions-repository.js';
import { supportsBackport, syncTopicSubscriptions } from './topic-subscription-sync.js';
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
}

/** How to subscribe (`SUBSCRIPTION_MODE`). */
export type SubscriptionMode = 'auto' | 'criteria' | 'topic' | 'polling';

/**
 * Creates or updates, idempotently, the R4 rest-hook Subscriptions on the EHR (FHIR R4
 * §Subscription: criteria, channel.type rest-hook, endpoint, payload application/fhir+json,
 * channel.header). The endpoint carries the subscription key; the secret is sent both as
 * `Authorization: Bearer` via `channel.header` and as Medplum's HMAC secret extension, so either
 * style of server authenticates its notifications. Secrets are kept, not rotated, on re-sync.
 */
export async function syncSubscriptions(options: {
  client: MedplumClient;
  pool: Pool;
  publicUrl: string;
  desired?: DesiredSubscription[];
  /** Default `criteria` (the walking skeleton's behaviour); the CLI passes `SUBSCRIPTION_MODE`. */
  mode?: SubscriptionMode;
  /** Heartbeat period asked of topic-based subscriptions, seconds. */
  heartbeatSeconds?: number;
  /** Payload content of topic-based subscriptions (default `id-only`). */
  content?: 'empty' | 'id-only' | 'full-resource';
}): Promise<SyncResult[]> {
  const mode = options.mode ?? 'criteria';
  if (mode === 'polling') return [await syncPolling(options.pool)];
  if (mode === 'topic' || (mode === 'auto' && (await supportsBackport(options.client)))) {
    return syncTopicSubscriptions({ ...options, heartbeatSeconds: options.heartbeatSeconds ?? 60, content: options.content ?? 'id-only' });
  }
  return syncCriteriaSubscriptions(options);
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

async function syncCriteriaSubscriptions(options: {
  client: MedplumClient;
  pool: Pool;
  publicUrl: string;
  desired?: DesiredSubscription[];
}): Promise<SyncResult[]> {
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
    results.push({ key: want.key, action: current ? 'updated' : 'created', ehrSubscription: saved.id ?? '', kind: 'rest-hook-criteria' });
  }
  return results;
}
