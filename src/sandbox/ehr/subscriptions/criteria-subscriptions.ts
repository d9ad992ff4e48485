import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { SearchRequest, WithId } from '@medplum/core';
import { OperationOutcomeError, matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { ResourceWriteEvent } from '../sandbox-repository.js';
import { normalizeReferenceFilters } from '../reference-filters.js';

/** An active criteria subscription with its parsed criteria. */
export interface ActiveCriteriaSubscription {
  subscription: WithId<Subscription>;
  search: SearchRequest;
}

/**
 * Active classic R4 criteria subscriptions, grouped by the resource type of their criteria so a
 * write is matched only against subscriptions on its own type (no scan of all subscriptions).
 */
export class CriteriaSubscriptionIndex {
  private readonly byType = new Map<string, Map<string, ActiveCriteriaSubscription>>();
  private readonly typeOfId = new Map<string, string>();

  /** Adds, replaces or removes `subscription` according to its status. */
  track(subscription: WithId<Subscription>, active: boolean): void {
    this.remove(subscription.id);
    if (!active) return;
    const search = normalizeReferenceFilters(parseCriteria(subscription.criteria));
    let group = this.byType.get(search.resourceType);
    if (!group) {
      group = new Map();
      this.byType.set(search.resourceType, group);
    }
    group.set(subscription.id, { subscription, search });
    this.typeOfId.set(subscription.id, search.resourceType);
  }

  /** Forgets a subscription. */
  remove(id: string): void {
    const type = this.typeOfId.get(id);
    if (type === undefined) return;
    this.byType.get(type)?.delete(id);
    this.typeOfId.delete(id);
  }

  /** The active subscriptions whose criteria the written resource matches. */
  matching(event: ResourceWriteEvent): ActiveCriteriaSubscription[] {
    const group = this.byType.get(event.resource.resourceType);
    if (!group) return [];
    const out: ActiveCriteriaSubscription[] = [];
    for (const entry of group.values()) {
      if (matchesSearchRequest(event.resource as Resource, entry.search)) out.push(entry);
    }
    return out;
  }

  /** Number of active subscriptions tracked. */
  get size(): number {
    return this.typeOfId.size;
  }
}

/**
 * Parses `Subscription.criteria` (a search URL such as `Observation?code=...`, FHIR R4
 * Subscription.criteria) or throws a 400 `OperationOutcomeError` at `Subscription.criteria`.
 */
export function parseCriteria(criteria: string): SearchRequest {
  const issue = (text: string): OperationOutcomeError =>
    new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', details: { text }, expression: ['Subscription.criteria'] }],
    });
  if (!/^[A-Z][A-Za-z]+(\?.*)?$/.test(criteria)) throw issue('criteria must be a search URL: Type?param=value');
  try {
    return parseSearchRequest(criteria);
  } catch (err) {
    throw issue(`criteria is not a valid search: ${err instanceof Error ? err.message : String(err)}`);
  }
}
