import type { Bundle, Parameters, Resource, Subscription } from '@medplum/fhirtypes';
import type { WithId } from '@medplum/core';
import { OperationOutcomeError, allOk } from '@medplum/core';
import type { FhirRequest, FhirResponse, FhirRouter } from '@medplum/fhir-router';
import type { SandboxRepository } from '../../sandbox-repository.js';
import { isBackportSubscription } from '../backport-detection.js';
import type { SandboxTopic } from './sandbox-topics.js';
import type { SubscriptionEventStore } from './event-store.js';
import type { PayloadContent } from './backport-settings.js';
import { parseBackportSubscription } from './backport-settings.js';
import type { SandboxRelease } from './notification-bundle.js';
import { buildNotificationBundle, buildStatusResource } from './notification-bundle.js';
import type { BackportSubscriptions } from './backport-subscriptions.js';

/** Dependencies of {@link registerSubscriptionOperations}. */
export interface SubscriptionOperationsOptions {
  router: FhirRouter;
  repo: SandboxRepository;
  events: SubscriptionEventStore;
  topics: readonly SandboxTopic[];
  subscriptions: BackportSubscriptions;
  baseUrl: () => string;
  /** Which release's status encoding to answer with (default R4). */
  release?: SandboxRelease;
}

/**
 * Registers the Backport IG operations on the FHIR router (so they also work inside batches):
 * - `$status` (OperationDefinition backport-subscription-status): `GET|POST
 *   Subscription/[id]/$status` and type-level `Subscription/$status?id=..&status=..`, answering a
 *   `searchset` Bundle of SubscriptionStatus Parameters (type `query-status`);
 * - `$events` (backport-subscription-events): `GET|POST Subscription/[id]/$events` with
 *   `eventsSinceNumber`, `eventsUntilNumber`, `content`, answering a `history` notification Bundle
 *   (type `query-event`) from the per-subscription event store.
 */
export function registerSubscriptionOperations(options: SubscriptionOperationsOptions): void {
  const { router } = options;
  const instanceStatus = async (req: FhirRequest): Promise<FhirResponse> => {
    const subscription = await readBackport(options, req.params.id ?? '');
    return [allOk, statusSearchset(options, [subscription])];
  };
  const typeStatus = async (req: FhirRequest): Promise<FhirResponse> => {
    const params = operationParams(req);
    const ids = params.get('id');
    const statuses = params.get('status');
    const all = await options.repo.searchResources<Subscription>({ resourceType: 'Subscription' });
    const selected = all.filter(
      (s) => isBackportSubscription(s) && (ids.length === 0 || ids.includes(s.id)) && (statuses.length === 0 || statuses.includes(s.status)),
    );
    return [allOk, statusSearchset(options, selected)];
  };
  const events = async (req: FhirRequest): Promise<FhirResponse> => {
    const subscription = await readBackport(options, req.params.id ?? '');
    const params = operationParams(req);
    const since = integerParam(params.get('eventsSinceNumber')[0], 'eventsSinceNumber');
    const until = integerParam(params.get('eventsUntilNumber')[0], 'eventsUntilNumber');
    const requested = params.get('content')[0];
    if (requested !== undefined && requested !== 'empty' && requested !== 'id-only' && requested !== 'full-resource') {
      throw invalid('content', 'content must be empty, id-only or full-resource');
    }
    const parsed = parseBackportSubscription(subscription, options.topics);
    const content: PayloadContent = (requested as PayloadContent | undefined) ?? (parsed.ok ? parsed.value.content : 'id-only');
    const stored = options.events.range(subscription.id, since, until);
    const bundle = buildNotificationBundle(
      {
        baseUrl: options.baseUrl(),
        release: options.release ?? 'R4',
        subscription,
        type: 'query-event',
        eventsSinceSubscriptionStart: options.events.count(subscription.id),
        events: stored,
        content,
      },
      content === 'full-resource' ? options.subscriptions.resolveContext(stored) : [],
    );
    return [allOk, bundle];
  };
  router.add('GET', 'Subscription/:id/$status', instanceStatus);
  router.add('POST', 'Subscription/:id/$status', instanceStatus);
  router.add('GET', 'Subscription/$status', typeStatus);
  router.add('POST', 'Subscription/$status', typeStatus);
  router.add('GET', 'Subscription/:id/$events', events);
  router.add('POST', 'Subscription/:id/$events', events);
}

function statusSearchset(options: SubscriptionOperationsOptions, subscriptions: WithId<Subscription>[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: subscriptions.length,
    entry: subscriptions.map((subscription) => {
      const status = buildStatusResource({
        baseUrl: options.baseUrl(),
        release: options.release ?? 'R4',
        subscription,
        type: 'query-status',
        eventsSinceSubscriptionStart: options.events.count(subscription.id),
      });
      return { fullUrl: `urn:uuid:${status.id}`, resource: status as Resource, search: { mode: 'match' } };
    }),
  };
}

async function readBackport(options: SubscriptionOperationsOptions, id: string): Promise<WithId<Subscription>> {
  const subscription = await options.repo.readResource<Subscription>('Subscription', id);
  if (!isBackportSubscription(subscription)) {
    throw new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-supported', details: { text: 'Not a topic-based (backport) Subscription' }, expression: ['Subscription.criteria'] }],
    });
  }
  return subscription as WithId<Subscription>;
}

/** Operation parameters from the query string (GET) or a `Parameters` body (POST). */
function operationParams(req: FhirRequest): { get(name: string): string[] } {
  const body = req.body as Parameters | undefined;
  return {
    get(name: string): string[] {
      const out: string[] = [];
      const fromQuery = req.query[name];
      for (const value of Array.isArray(fromQuery) ? fromQuery : fromQuery === undefined ? [] : [fromQuery]) {
        out.push(...value.split(','));
      }
      if (body?.resourceType === 'Parameters') {
        for (const p of body.parameter ?? []) {
          if (p.name !== name) continue;
          const value = p.valueString ?? p.valueCode ?? p.valueId ?? (p.valueInteger !== undefined ? String(p.valueInteger) : undefined);
          if (value !== undefined) out.push(value);
        }
      }
      return out;
    },
  };
}

function integerParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw invalid(name, `${name} must be a non-negative integer`);
  return Number(value);
}

function invalid(parameter: string, text: string): OperationOutcomeError {
  return new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'invalid', details: { text }, expression: [parameter] }],
  });
}
